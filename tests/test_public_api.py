"""Pin the public surface: nothing leaks into or vanishes from ``passline`` by accident."""

from __future__ import annotations

import subprocess
import sys

import passline


def test_all_is_sorted_and_resolvable():
    assert passline.__all__ == sorted(passline.__all__)
    for name in passline.__all__:
        assert getattr(passline, name) is not None, name


def test_importing_passline_and_plugin_stays_light():
    code = (
        "import sys, passline, passline.plugin;"
        "heavy = [m for m in ('datasets', 'pandas', 'openai', 'scipy', 'numpy', 'uvicorn',"
        " 'starlette', 'bm25s', 'pyarrow') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported eagerly: {out.stdout.strip()}"
