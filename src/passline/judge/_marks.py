"""Review marks from the HTML report, merged into a new version of a calibration set.

A reviewer marks judge verdicts they disagree with in a report and downloads the marks
(``judge-marks.json``, made in the page with no server). ``add_labels`` turns each mark that
carries the reviewer's own label into a calibration row -- the question, the answer judged,
the context it rested on (read back from the run record when it can be found), the label, and
who made it, when and how (``expected.x_label_source``, ``x_label_reason``: the provenance
schema of ``judge-calibration@v2``) -- and writes them as a new version of the set, which
``passline judge calibrate RUBRIC --dataset NAME@vN`` then measures against.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_text
from passline.errors import ConfigError

MARKS_KIND = "passline-judge-marks"
MARKS_SCHEMA_VERSION = 1
LABEL_KINDS = ("human", "reference", "model")
PROTOCOL = ("passline report review: the labeller read the question, the answer and the "
            "judge's verdict and rationale in the HTML report, marked the verdict as wrong "
            "and gave their own label")


@dataclasses.dataclass(frozen=True)
class LabelsResult:
    dataset: str
    path: Path
    added: list[str]
    skipped: list[str]  # marks without a label, or already in the set

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "path": str(self.path), "added": self.added,
                "skipped": self.skipped}


def read_marks(path: str | Path) -> list[dict[str, Any]]:
    """The marks of a ``judge-marks.json`` downloaded from a report."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable marks file ({exc}); download it from the "
                          "report's Judges section") from exc
    if not isinstance(doc, Mapping) or doc.get("kind") != MARKS_KIND:
        raise ConfigError(f'{path}: not a passline marks file (no "kind": "{MARKS_KIND}")')
    if doc.get("schema_version") != MARKS_SCHEMA_VERSION:
        raise ConfigError(f"{path}: marks schema_version {doc.get('schema_version')!r} is not "
                          f"supported (this passline reads {MARKS_SCHEMA_VERSION})")
    marks = doc.get("marks")
    if not isinstance(marks, list):
        raise ConfigError(f'{path}: "marks" must be a list')
    return [dict(m) for m in marks if isinstance(m, Mapping)]


def _row_from_run(runs_dir: Path | None, mark: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if runs_dir is None or not mark.get("run"):
        return None
    from passline.records import list_runs, read_rows

    run_dir = runs_dir / str(mark["run"])
    if not (run_dir / "manifest.json").is_file():  # run ids usually name their folder
        found = [m["_path"] for m in list_runs(runs_dir) if m.get("run_id") == mark["run"]]
        if not found:
            return None
        run_dir = Path(found[0])

    for row in read_rows(run_dir):
        if (row.get("eval"), row.get("case_id"), row.get("trial")) == (
                mark.get("eval"), mark.get("case_id"), mark.get("trial")):
            return row
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")[:80] or "item"


def mark_row(mark: Mapping[str, Any], *, rubric: Any, labeller: str, kind: str, today: str,
             runs_dir: Path | None) -> dict[str, Any]:
    """One calibration row (golden row schema) from one mark."""
    from passline.judge._scorer import format_tool_context

    label: Any = str(mark.get("label") or "").strip()
    if rubric.kind == "score":
        try:
            label = int(label)
        except ValueError as exc:
            raise ConfigError(f"mark on {mark.get('case_id')}: label {label!r} is not a score "
                              f"of {rubric.key} ({', '.join(map(str, rubric.levels))})") from exc
    try:
        rubric.level_index(label)
    except Exception as exc:
        raise ConfigError(f"mark on {mark.get('case_id')}: label {label!r} is not one of "
                          f"{rubric.key}'s levels ({', '.join(map(str, rubric.levels))})"
                          ) from exc
    row = _row_from_run(runs_dir, mark)
    run = (row or {}).get("run") or {}
    answer = str(run.get("answer") if row else mark.get("answer") or "")
    question = (row or {}).get("input", {}).get("message") if row else None
    question = str(question or mark.get("question") or "")
    expected: dict[str, Any] = {"x_answer": answer, rubric.calibration_field: label}
    saw = ["question", "answer", "judge verdict", "judge rationale"]
    if row is not None:
        from passline._types import ToolCall

        context = format_tool_context([ToolCall.from_dict(t) for t in run.get("tool_calls")
                                       or ()])
        if context:
            expected["x_context"] = context
            saw.insert(2, "tool calls")
    reason = str(mark.get("reason") or "").strip().replace("\n", " ")
    expected["x_label_reason"] = (reason or f"labeller disagreed with the judge's verdict "
                                  f"({str(mark.get('judge_verdict') or '')[:120]})")[:300]
    expected["x_label_source"] = {
        "schema_version": 1, "kind": kind, "labeller": labeller, "labelled_on": today,
        "protocol": PROTOCOL, "saw": saw,
        "origin": f"review of run {mark.get('run') or '?'} ({mark.get('side')}, trial "
                  f"{mark.get('trial')})"}
    rid = _slug(f"review-{mark.get('case_id')}-{str(mark.get('side') or 'x')[:1]}"
                f"{mark.get('trial', 0)}-{rubric.id}")
    return {"id": rid, "input": {"message": question}, "expected": expected,
            "tags": ["origin:report-review", f"rubric:{rubric.key}"],
            "metadata": {"group": _slug(str(mark.get("case_id") or rid)),
                         "eval": mark.get("eval"), "run": mark.get("run"),
                         "judge_verdict": mark.get("judge_verdict"),
                         "judge_rationale": mark.get("judge_rationale"),
                         "context_from_run": row is not None}}


def add_labels(marks: Sequence[Mapping[str, Any]], *, labeller: str, kind: str,
               dataset: str = "judge-calibration", rubric: str | None = None,
               runs_dir: str | Path | None = None, root: str | Path = ".",
               today: dt.date | None = None) -> LabelsResult:
    """Write the labelled marks as a new version of calibration set ``dataset`` (a copy of its
    latest version plus one row per mark; v1 when it does not exist yet)."""
    from passline.golden._layout import CARD_NAME, DATA_NAME, golden_dir, versions
    from passline.golden._schema import iter_jsonl
    from passline.golden._versions import card_template, new_version
    from passline.judge._rubric import load_rubric

    if not labeller.strip() or labeller.strip().lower() in LABEL_KINDS:
        raise ConfigError("--labeller NAME must name who labelled (a person, or the process "
                          f"that did), not just {labeller.strip() or 'nothing'!r}")
    if kind not in LABEL_KINDS:
        raise ConfigError(f"--kind {kind!r} must be one of {', '.join(LABEL_KINDS)} "
                          "(\"human\" only when a person made the labels)")
    date = (today or dt.date.today()).isoformat()
    root = Path(root)
    runs = Path(runs_dir) if runs_dir else None
    rows, skipped = [], []
    for mark in marks:
        key = mark.get("rubric") or rubric
        if not str(mark.get("label") or "").strip():
            skipped.append(f"{mark.get('case_id')} ({mark.get('score')}): no label given")
            continue
        if not key:
            raise ConfigError(f"mark on {mark.get('case_id')} ({mark.get('score')}) names no "
                              "rubric; pass --rubric RUBRIC@V")
        r = load_rubric(str(key))
        if not r.calibration_field:
            raise ConfigError(f"rubric {r.key} names no calibration_field, so its labels "
                              "cannot be stored in a calibration set")
        rows.append(mark_row(mark, rubric=r, labeller=labeller.strip(), kind=kind, today=date,
                             runs_dir=runs))
    if not rows:
        raise ConfigError("no mark carries a label: type your label next to \"disagree\" in "
                          "the report before downloading the marks")
    if versions(root, dataset):
        target = new_version(dataset, root=root, today=today)
    else:
        target = golden_dir(root) / dataset / "v1"
        target.mkdir(parents=True)
        atomic_write_text(target / CARD_NAME, card_template(dataset, "v1", date))
        atomic_write_text(target / DATA_NAME, "")
    data = target / DATA_NAME
    text = data.read_text(encoding="utf-8")
    present = {row.get("id") for _, row, _ in iter_jsonl(data) if isinstance(row, Mapping)}
    added = []
    for row in rows:
        if row["id"] in present:
            skipped.append(f"{row['id']}: already in the set")
            continue
        present.add(row["id"])
        added.append(row["id"])
        text += ("" if not text or text.endswith("\n") else "\n") + json.dumps(
            row, ensure_ascii=False) + "\n"
    atomic_write_text(data, text)
    card = (target / CARD_NAME).read_text(encoding="utf-8")
    atomic_write_text(target / CARD_NAME, card.rstrip("\n") + (
        f"\n\n<!-- {date}: {len(added)} label(s) from report review marks by {labeller} "
        f"({kind}); provenance per row in expected.x_label_source -->\n"))
    return LabelsResult(f"{dataset}@{target.name}", target, added, skipped)
