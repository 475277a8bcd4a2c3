"""What changed between the two variants: prompt files (unified diff) and manifest fields.

Manifests carry ``prompts: {relative path: text}``. Versions live side by side
(``orchestrator/v1.j2`` vs ``orchestrator/v2.j2``), so files pair by exact path first and
then by folder and extension.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping, Sequence
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
        lines: tuple[tuple[str, str], ...] = ()
        added = removed = 0
        if status != "unchanged":
            lines, added, removed = _udiff(old, new, f"baseline/{bp or '(none)'}",
                                           f"candidate/{cp or '(none)'}")
        out.append(FileDiff(bp, cp, status, lines, added, removed))
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


# -- captured prompts: what the agents actually sent ------------------------------------
MAX_FAMILY_LINE = 120
MAX_CAPTURED_CHANGES = 40


@dataclasses.dataclass(frozen=True)
class CapturedChange:
    """A system prompt, tool or sampling setting that differs between what the two
    variants sent, with the regressed cases that used it."""

    kind: str  # "system" | "tool" | "settings"
    label: str
    status: str  # "changed" | "added" | "removed"
    lines: tuple[tuple[str, str], ...]
    added: int
    removed: int
    used_by: str  # "12 of 14 regressed cases called `issue_refund`, whose description changed"
    note: str = ""


def _family(text: str) -> str:
    """Renderings of one template share their first line; per-case data comes later."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:MAX_FAMILY_LINE]
    return ""


def _families(entries: list[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        out.setdefault(_family(str(e.get("text", ""))), []).append(e)
    return out


def _representative(members: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The most-used rendering (the template with the fewest per-case insertions), then the
    shortest."""
    return min(members, key=lambda e: (-int(e.get("calls") or 0), len(str(e.get("text")))))


def _udiff(old: str, new: str, fromfile: str, tofile: str
           ) -> tuple[tuple[tuple[str, str], ...], int, int]:
    lines: list[tuple[str, str]] = []
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=fromfile,
                                     tofile=tofile, lineterm="", n=3):
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
    return tuple(lines), added, removed


def _pair_families(base: dict[str, list[Mapping[str, Any]]],
                   cand: dict[str, list[Mapping[str, Any]]]
                   ) -> list[tuple[str | None, str | None]]:
    pairs: list[tuple[str | None, str | None]] = [(f, f) for f in base if f in cand]
    rest_b = [f for f in base if f not in cand]
    rest_c = [f for f in cand if f not in base]
    scored = sorted(((difflib.SequenceMatcher(
        None, str(_representative(base[b])["text"])[:2000],
        str(_representative(cand[c])["text"])[:2000]).ratio(), b, c)
        for b in rest_b for c in rest_c), reverse=True)
    used_b: set[str] = set()
    used_c: set[str] = set()
    for ratio, b, c in scored:
        if b in used_b or c in used_c:
            continue
        if ratio >= 0.3 or (len(rest_b) == 1 and len(rest_c) == 1):
            pairs.append((b, c))
            used_b.add(b)
            used_c.add(c)
    pairs += [(b, None) for b in rest_b if b not in used_b]
    pairs += [(None, c) for c in rest_c if c not in used_c]
    return pairs


def _count(regressed: Sequence[Mapping[str, Any]], hit: Any) -> int:
    return sum(1 for case in regressed if hit(case))


def captured_changes(base: Mapping[str, Any] | None, cand: Mapping[str, Any] | None,
                     regressed: Sequence[Mapping[str, Any]]) -> list[CapturedChange]:
    """Compare the prompt ledgers (``manifest.captured_prompts``) of two runs.

    ``regressed`` holds, per regressed case, what its candidate trials used: ``system``
    (prompt hashes), ``tools`` (``name#hash`` offered) and ``called`` (tool names called).
    Rendered text is compared, so a template reshuffle that renders the same text is no
    change.
    """
    if not base or not cand:
        return []
    out: list[CapturedChange] = []
    n_reg = len(regressed)
    bf, cf = _families(list(base.get("system") or ())), _families(list(cand.get("system") or ()))
    for b, c in _pair_families(bf, cf):
        b_hashes = {str(e["hash"]) for e in bf.get(b, [])} if b is not None else set()
        c_hashes = {str(e["hash"]) for e in cf.get(c, [])} if c is not None else set()
        if b_hashes == c_hashes:
            continue
        old = str(_representative(bf[b])["text"]) if b is not None else ""
        new = str(_representative(cf[c])["text"]) if c is not None else ""
        if old == new and b is not None and c is not None:
            continue  # the usual rendering is the same; only per-case renderings differ
        status = "added" if b is None else "removed" if c is None else "changed"
        label = f"system prompt “{(c if c is not None else b) or '(empty)'}”"
        lines, added, removed = _udiff(old, new, "baseline", "candidate")
        hits = _count(regressed, lambda case, hs=c_hashes | b_hashes: bool(
            set(case.get("system") or ()) & hs))
        used = (f"{hits} of {n_reg} regressed cases were sent this prompt" if n_reg else
                "no case regressed")
        forms = [len(bf.get(b, [])) if b is not None else 0,
                 len(cf.get(c, [])) if c is not None else 0]
        note = ("" if max(forms) <= 1 else f"{forms[0]} rendering(s) in the baseline, "
                f"{forms[1]} in the candidate (per-case data); the most used are compared")
        out.append(CapturedChange("system", label, status, lines, added, removed, used, note))

    def tools_by_name(ledger: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        best: dict[str, Mapping[str, Any]] = {}
        for e in ledger.get("tools") or ():
            name = str(e.get("name"))
            if name not in best or int(e.get("calls") or 0) > int(best[name].get("calls") or 0):
                best[name] = e
        return best

    bt, ct = tools_by_name(base), tools_by_name(cand)
    for name in sorted(bt.keys() | ct.keys()):
        old_e, new_e = bt.get(name), ct.get(name)
        if old_e is not None and new_e is not None and old_e.get("hash") == new_e.get("hash"):
            continue

        def render(e: Mapping[str, Any] | None) -> str:
            if e is None:
                return ""
            return json.dumps({"description": e.get("description"),
                               "parameters": e.get("parameters")}, indent=2, sort_keys=True,
                              ensure_ascii=False)

        status = "added" if old_e is None else "removed" if new_e is None else "changed"
        what = {"added": "which is new", "removed": "which was removed",
                "changed": "whose description or schema changed"}[status]
        lines, added, removed = _udiff(render(old_e), render(new_e), f"baseline/{name}",
                                       f"candidate/{name}")
        called = _count(regressed, lambda case, n=name: n in (case.get("called") or ()))
        offered = _count(regressed, lambda case, n=name: any(
            str(t).split("#", 1)[0] == n for t in case.get("tools") or ()))
        if not n_reg:
            used = "no case regressed"
        elif called:
            used = f"{called} of {n_reg} regressed cases called `{name}`, {what}"
        else:
            used = (f"`{name}` ({what}) was offered to {offered} of {n_reg} regressed cases "
                    "and called by none")
        out.append(CapturedChange("tool", f"tool `{name}`", status, lines, added, removed,
                                  used))

    def settings_text(ledger: Mapping[str, Any]) -> str:
        return "\n".join(f"{json.dumps(e.get('settings'), sort_keys=True)}  ({e.get('calls')} "
                         "calls)" for e in ledger.get("settings") or ())

    def settings_set(ledger: Mapping[str, Any]) -> set[str]:
        return {json.dumps(e.get("settings"), sort_keys=True)
                for e in ledger.get("settings") or ()}

    if settings_set(base) != settings_set(cand):
        lines, added, removed = _udiff(settings_text(base), settings_text(cand), "baseline",
                                       "candidate")
        out.append(CapturedChange("settings", "model and sampling settings", "changed", lines,
                                  added, removed, f"every case ({n_reg} regressed)"))
    return out[:MAX_CAPTURED_CHANGES]
