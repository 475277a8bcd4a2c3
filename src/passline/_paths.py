"""Names that become paths, and the one check that every written path stays inside its root.

A variant name, a baseline name or a run id ends up as a folder or file name under a root
(``reports/runs``, ``reports/baselines``...). They follow one rule -- letters, digits, ``.``,
``_`` and ``-``, starting with a letter or digit, at most ``MAX_NAME`` characters -- so a name
can never add a folder level, climb out with ``..`` or carry markup. :func:`inside` is the
check every writer uses when it joins a root and a name: it refuses a result that resolves
outside the root (symlinks included).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from passline.errors import ConfigError

MAX_NAME = 100
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_name(name: str, what: str, *, example: str = "main or sim-2.v1") -> str:
    """``name`` if it is a safe file-name component, else a ConfigError saying the rule.

    >>> check_name("cand-2", "variant name")
    'cand-2'
    """
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > MAX_NAME \
            or ".." in name:
        raise ConfigError(
            f"{what} {name!r} is not valid; use letters, digits, '.', '_' or '-' (starting "
            f"with a letter or digit, at most {MAX_NAME} characters, no '..'), e.g. {example}")
    return name


def inside(root: str | os.PathLike[str], *parts: str | os.PathLike[str]) -> Path:
    """``root / parts...``, refused (ConfigError) when it would resolve outside ``root``.

    >>> inside("reports/runs", "2026-cand")
    PosixPath('reports/runs/2026-cand')
    >>> inside("reports/runs", "../../tmp/x")                       # doctest: +ELLIPSIS
    Traceback (most recent call last):
    passline.errors.ConfigError: ...
    """
    base = Path(root)
    path = base.joinpath(*parts)
    resolved_root = base.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and not resolved.is_relative_to(resolved_root):
        shown = "/".join(os.fspath(p) for p in parts)
        raise ConfigError(
            f"refusing to write {shown!r}: it resolves to {resolved}, outside {base}; names "
            "that become paths must not contain '/', '..' or links out of the folder")
    return path
