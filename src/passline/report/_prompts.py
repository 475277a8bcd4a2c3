"""What changed between the two variants: prompt files (unified diff) and manifest fields.

Manifests carry ``prompts: {relative path: text}``. Versions live side by side
(``orchestrator/v1.j2`` vs ``orchestrator/v2.j2``), so files pair by exact path first and
then by folder and extension.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

MAX_DIFF_LINES = 1500  # per file; a reviewer does not read more, and the HTML stays small
MAX_VALUE_CHARS = 300


@dataclasses.dataclass(frozen=True)
class FileDiff:
    """One prompt file compared. ``lines`` are (kind, text), kind in add/del/ctx/hunk/meta."""

    baseline_path: str | None
    candidate_path: str | None
    status: str  # "changed" | "added" | "removed" | "unchanged"
    lines: tuple[tuple[str, str], ...]
    added: int
    removed: int

    @property
    def label(self) -> str:
        if self.baseline_path and self.candidate_path and self.baseline_path != \
                self.candidate_path:
            return f"{self.baseline_path} → {self.candidate_path}"
        return str(self.candidate_path or self.baseline_path)


def _pair(base: Mapping[str, str], cand: Mapping[str, str]) -> list[tuple[str | None, str | None]]:
    pairs: list[tuple[str | None, str | None]] = [(p, p) for p in sorted(base) if p in cand]
    rest_b = [p for p in sorted(base) if p not in cand]
    rest_c = [p for p in sorted(cand) if p not in base]

    def slot(path: str) -> tuple[str, str]:
        pure = PurePosixPath(path)
        return (str(pure.parent), pure.suffix)

    by_slot_c: dict[tuple[str, str], list[str]] = {}
    for p in rest_c:
        by_slot_c.setdefault(slot(p), []).append(p)
    by_slot_b: dict[tuple[str, str], list[str]] = {}
    for p in rest_b:
        by_slot_b.setdefault(slot(p), []).append(p)
    used_c: set[str] = set()
    for p in rest_b:
        match = by_slot_c.get(slot(p), [])
        if len(match) == 1 and len(by_slot_b[slot(p)]) == 1:
            pairs.append((p, match[0]))
            used_c.add(match[0])
        else:
            pairs.append((p, None))
    pairs.extend((None, p) for p in rest_c if p not in used_c)
    return sorted(pairs, key=lambda bc: str(bc[1] or bc[0]))


def prompt_diffs(base: Mapping[str, Any] | None, cand: Mapping[str, Any] | None
                 ) -> list[FileDiff]:
    """Unified diffs (difflib, 3 lines of context) of the prompt files of two manifests."""
    base_files = {str(k): str(v) for k, v in (base or {}).items()}
    cand_files = {str(k): str(v) for k, v in (cand or {}).items()}
    out = []
    for bp, cp in _pair(base_files, cand_files):
        old = base_files.get(bp, "") if bp else ""
        new = cand_files.get(cp, "") if cp else ""
        status = ("added" if bp is None else "removed" if cp is None
                  else "unchanged" if old == new else "changed")
        lines: list[tuple[str, str]] = []
        added = removed = 0
        if status != "unchanged":
            diff = difflib.unified_diff(old.splitlines(), new.splitlines(),
                                        fromfile=f"baseline/{bp or '(none)'}",
                                        tofile=f"candidate/{cp or '(none)'}", lineterm="", n=3)
            for line in diff:
                if line.startswith(("---", "+++")):
                    kind = "meta"
                elif line.startswith("@@"):
                    kind = "hunk"
                elif line.startswith("+"):
                    kind, added = "add", added + 1
                elif line.startswith("-"):
                    kind, removed = "del", removed + 1
                else:
                    kind = "ctx"
                if len(lines) < MAX_DIFF_LINES:
                    lines.append((kind, line))
            if len(lines) >= MAX_DIFF_LINES:
                lines.append(("meta", "… diff truncated"))
        out.append(FileDiff(bp, cp, status, tuple(lines), added, removed))
    return out


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for k in sorted(value, key=str):
            _flat(f"{prefix}.{k}" if prefix else str(k), value[k], out)
    else:
        out[prefix] = value


def _show(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


_SKIP_SETTINGS = {"sources"}


def manifest_diff(base: Mapping[str, Any], cand: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, baseline, candidate) for every differing model/params/settings/dataset field.

    Settings are compared only when both manifests record them (a baseline file does not).
    """
    with_settings = "settings" in base and "settings" in cand

    def fields(m: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        variant = m.get("variant") or {}
        for key in ("model", "prompts"):
            out[f"variant.{key}"] = variant.get(key)
        _flat("params", variant.get("params") or {}, out)
        if with_settings:
            settings = {k: v for k, v in (m.get("settings") or {}).items()
                        if k not in _SKIP_SETTINGS}
            _flat("settings", settings, out)
        _flat("datasets", m.get("datasets") or {}, out)
        for key in ("trials", "passline_version", "git_sha"):
            out[key] = m.get(key)
        return {k: v for k, v in out.items() if v not in ({}, None) or k.startswith("variant")}

    fb, fc = fields(base), fields(cand)
    rows = []
    for key in sorted(fb.keys() | fc.keys()):
        if fb.get(key) != fc.get(key):
            rows.append((key, _show(fb.get(key)), _show(fc.get(key))))
    return rows
