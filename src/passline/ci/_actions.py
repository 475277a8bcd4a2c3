"""GitHub Actions' file and log conventions: the job summary, step outputs, annotations.

Outside GitHub Actions (no ``GITHUB_STEP_SUMMARY`` / ``GITHUB_OUTPUT``) these do nothing, so
the same commands work in any CI.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub drops a step's summary larger than 1 MiB


def append_step_summary(path: str | Path | None, text: str) -> bool:
    """Append markdown to the job summary file; False when there is none (not on Actions)."""
    if not path:
        return False
    target = Path(path)
    used = target.stat().st_size if target.exists() else 0
    data = text.encode("utf-8")
    if used + len(data) > STEP_SUMMARY_LIMIT:
        data = (text[: max(STEP_SUMMARY_LIMIT - used - 200, 0) // 4]
                + "\n\n(job summary cut at GitHub's 1 MiB limit)\n").encode("utf-8")
    with open(target, "ab") as fh:  # GitHub reads the whole file after the step
        fh.write(data if data.endswith(b"\n") else data + b"\n")
    return True


def set_outputs(path: str | Path | None, values: Mapping[str, object]) -> bool:
    """Write step outputs (``$GITHUB_OUTPUT``) in the delimiter form, safe for any value."""
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            text = "" if value is None else str(value)
            delimiter = f"passline_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
    return True


def annotation(kind: str, message: str, title: str = "passline") -> str:
    """A workflow command (``::notice``/``::warning``/``::error``) that shows ``message`` on
    the run's page; newlines and ``%`` are escaped as the runner requires."""
    def esc(text: str, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    return f"::{kind} title={esc(title, prop=True)}::{esc(message)}"
