"""The simulator holds no test-set knowledge: no golden record id and no 4-word sequence of any
golden case (beyond common words) appears anywhere under src/passline/sim/ -- code, comments,
docstrings or data. Every dataset under golden/ counts, present and future."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from golden_ngrams import GoldenIndex, golden_cases

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "src" / "passline" / "sim"


@functools.cache
def _index() -> GoldenIndex:  # read-only once built: one per process, not three
    return GoldenIndex(golden_cases(ROOT / "golden"))


def test_simulator_source_holds_no_golden_text() -> None:
    cases = golden_cases(ROOT / "golden")
    datasets = {c.dataset for c in cases}
    on_disk = {f"{p.parent.parent.name}/{p.parent.name}"
               for p in (ROOT / "golden").glob("*/*/*.jsonl")}
    assert datasets == on_disk and len(datasets) >= 5  # every dataset is read
    index = _index()
    findings = index.scan_tree(SIM, ROOT)
    # the pages that document the simulator's rules give their examples in the same spirit
    for page in sorted((ROOT / "docs").glob("simulator*.md")):
        findings += index.find(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
    assert not findings, (
        f"{len(findings)} pieces of golden text in the simulator (rules must be general):\n"
        + "\n".join(map(str, findings)))


def test_the_check_catches_a_golden_sentence_pasted_into_a_comment(tmp_path: Path) -> None:
    """The demonstration: a copy of the simulator with one golden request pasted into a
    comment, and one golden record id into a docstring, is reported -- file and line."""
    copy = tmp_path / "sim"
    shutil.copytree(SIM, copy, ignore=shutil.ignore_patterns("__pycache__"))
    golden = sorted((ROOT / "golden").glob("*/*/data.jsonl"))[0]
    record = json.loads(golden.read_text(encoding="utf-8").splitlines()[0])
    sentence = next(v for v in record["input"].values()
                    if isinstance(v, str) and len(v.split()) >= 6)
    target = copy / "brain" / "tools.py"
    lines = target.read_text(encoding="utf-8").splitlines()
    lines.insert(40, f"# e.g. {sentence}")
    lines.insert(41, f'"""Written for {record["id"]}."""')
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")

    findings = _index().scan_tree(copy, tmp_path)
    pasted = [f for f in findings if f.file == "sim/brain/tools.py" and f.line in (41, 42)]
    assert 41 in {f.line for f in pasted if f.what == "4-gram"}, findings
    assert record["id"].lower() in {f.text for f in pasted if f.what == "record id"}
    # a sentence of only common words is no evidence; an unrelated sentence is no finding
    assert not _index().find("and it is the one that we have")
    assert not _index().find("the thermostat in the attic reads twelve degrees")
