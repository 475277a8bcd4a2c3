"""The comparison, the gate's verdict and the report's contents of fixed synthetic run pairs,
pinned to a snapshot: speed work on reading, compare's statistics and the report must leave
every figure bit-identical (floats are compared exactly, through their JSON repr).

The runs come from ``passline.report._synthetic`` (seeded, deterministic). When a change is
*meant* to move a figure -- or the synthetic generator changes -- regenerate the snapshot
with ``PASSLINE_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py`` (in the tests'
environment: the conftest's fixtures shape what a report shows) and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from passline.compare import compare, gate, load_policy
from passline.report import build_report
from passline.report._chunks import read_cases
from passline.report._synthetic import write_synthetic_runs

SNAPSHOT = Path(__file__).parent / "fixtures" / "report_golden.json"

# name -> (write_synthetic_runs kwargs, compare kwargs)
PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "single-trial": ({"n_cases": 400, "n_regressed": 20, "n_improved": 9, "n_errored": 3},
                     {}),
    "three-trials": ({"n_cases": 120, "trials": 3, "n_regressed": 8, "n_improved": 4,
                      "n_flaky": 6, "n_errored": 2}, {}),
    "clustered": ({"n_cases": 300, "n_regressed": 15, "n_improved": 6, "only_in_baseline": 4},
                  {"sampling_unit": "cluster"}),
    "two-trials-clustered": ({"n_cases": 90, "trials": 2, "n_regressed": 6, "n_flaky": 4},
                             {"sampling_unit": "cluster"}),
    "tiny": ({"n_cases": 12, "n_regressed": 2, "n_improved": 1}, {}),
}
# a chunked report (past INLINE_MAX_CASES) with the XSS corpus in every displayed field
REPORT_PAIR = {"n_cases": 2100, "n_regressed": 70, "n_improved": 35, "n_errored": 5,
               "hostile": True}


def _comparison_snapshot(root: Path, runs_kw: dict[str, Any], cmp_kw: dict[str, Any]
                         ) -> dict[str, Any]:
    runs = write_synthetic_runs(root, **runs_kw)
    comparison = compare(runs.baseline, runs.candidate, **cmp_kw)
    verdict = gate(comparison, load_policy())
    text = json.dumps({"comparison": comparison.to_dict(), "verdict": verdict.to_dict(),
                       "discordant": [list(d) for d in comparison.discordant]},
                      sort_keys=True, default=str)
    return json.loads(text.replace(str(root), "<root>"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _report_snapshot(root: Path) -> dict[str, str]:
    """Digests of what the report shows: the per-case data (parsed, so only values count),
    the rest of index.html, summary.md and junit.xml (temp paths and the time masked)."""
    runs = write_synthetic_runs(root / "runs", **REPORT_PAIR)  # type: ignore[arg-type]
    paths = build_report(runs.baseline, runs.candidate, root / "out")
    html = paths.index_html.read_text(encoding="utf-8")
    cases = json.dumps(read_cases(html), sort_keys=True, ensure_ascii=True)
    page = re.sub(r'(<script type="application/(?:json|octet-stream)" id="[a-z0-9-]+">)'
                  r'[^<]*(</script>)', r"\1\2", html)
    # when written, and the runs' dates (the trend chart's axis ticks are bare dates)
    page = re.sub(r"\d{4}-\d\d-\d\d(?:[T ][0-9:+]+)?", "<time>", page)
    page = re.sub(r"'sha256-[A-Za-z0-9+/=]+'", "'sha256-<hash>'", page)

    def masked(text: str) -> str:
        return text.replace(str(root), "<root>")

    return {"cases": _digest(cases), "n_cases": str(len(read_cases(html))),
            "page": _digest(masked(page)),
            "summary_md": _digest(masked(paths.summary_md.read_text(encoding="utf-8"))),
            "junit_xml": _digest(masked(paths.junit_xml.read_text(encoding="utf-8")))}


UPDATE = bool(os.environ.get("PASSLINE_UPDATE_GOLDEN"))


def _snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8")) if SNAPSHOT.exists() else {}


def _check(path: tuple[str, ...], got: Any) -> Any:
    """The snapshot's value at ``path``; with PASSLINE_UPDATE_GOLDEN set, ``got`` is written
    there instead."""
    snap = _snapshot()
    if UPDATE:
        node = snap
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = got
        SNAPSHOT.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return got
    node = snap
    for part in path:
        node = node[part]
    return node


@pytest.mark.parametrize("threads", [False, True], ids=["inline", "threads"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_comparison_matches_snapshot(name: str, threads: bool, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same figures whether the resampling tests run one after the other or side by
    side on threads (each draws from its own seeded stream)."""
    import passline.compare._compare as compare_module

    monkeypatch.chdir(tmp_path)  # the default gate policy, whatever the checkout configures
    monkeypatch.setattr(compare_module, "PARALLEL_MIN_PAIRS", 0 if threads else 10**9)
    runs_kw, cmp_kw = PAIRS[name]
    got = _comparison_snapshot(tmp_path / "runs", runs_kw, cmp_kw)
    want = _check(("comparisons", name), got)
    assert got["verdict"] == want["verdict"]
    for key in want["comparison"]:
        assert got["comparison"][key] == want["comparison"][key], key
    assert got == want


def test_report_matches_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = _report_snapshot(tmp_path)
    assert got == _check(("report",), got)


def test_span_order_fast_path_equals_the_sorting_walk() -> None:
    """Spans already listed depth-first take a one-pass path; whatever the order, parents
    and ties, it must give what sorting and walking the tree gives."""
    import random

    from passline.report._payload import _listed_order, sorted_span_order

    rng = random.Random(7)
    taken = 0
    for _ in range(3000):
        n = rng.randint(0, 9)
        ids = [f"s{i}" for i in range(n)]
        spans = []
        for i, sid in enumerate(ids):
            parent = rng.choice([None, "missing", *ids[:i], *ids[:i], *ids[:i],
                                 *(ids[i:] if rng.random() < 0.1 else [])])
            start = rng.choice([0.0, 0.5, 1.0, i * 0.1, None, "x"])
            spans.append({"span_id": sid, "parent_id": parent, "start_s": start})
        if rng.random() < 0.5:  # most traces are listed in tree order already
            listed = [s for _, s in sorted_span_order(spans)]
            spans = listed + [s for s in spans if all(s is not t for t in listed)]
        if rng.random() < 0.05 and spans:
            spans.append(dict(spans[0]))  # a repeated span id
        want = sorted_span_order(spans)
        got = _listed_order(spans)
        if got is not None:
            taken += 1
            assert [(d, id(s)) for d, s in got] == [(d, id(s)) for d, s in want], spans
    assert taken > 500  # the fast path is exercised, not only the fallback


def test_compact_spans_in_one_pass_equal_the_general_path() -> None:
    """Spans listed depth-first are ordered and compacted in one pass; whenever that pass
    answers, it must be what ordering (sorting and walking) then compacting gives."""
    import random

    from passline.report._payload import (
        MAX_SPANS,
        _compact_listed,
        _span,
        _spans_fast,
        sorted_span_order,
    )

    rng = random.Random(11)
    taken = 0
    for _ in range(3000):
        n = rng.choice([0, 1, 3, 6, 9, MAX_SPANS + 3])
        ids = [f"s{i}" for i in range(n)]
        spans = []
        for i, sid in enumerate(ids):
            parent = rng.choice([None, "missing", *ids[max(0, i - 3):i], *ids[max(0, i - 3):i],
                                 *(ids[i:i + 2] if rng.random() < 0.05 else [])])
            start = rng.choice([0.0, 0.5, 1.0, i * 0.1, None, "x"]) if rng.random() < 0.2 \
                else i * 0.01
            span = {"span_id": sid, "parent_id": parent, "start_s": start, "kind": "llm",
                    "name": f"n{i}", "end_s": (start if isinstance(start, float) else 0.0)
                    + rng.choice([0.3, 0.123456, 2.71828]),
                    "status": rng.choice(["ok", "error"]),
                    "usage": rng.choice([{}, {"prompt_tokens": 3, "completion_tokens": 4,
                                              "cost_usd": 1.23456789e-05}, None]),
                    "attributes": rng.choice([{}, {"error": "boom"}, None])}
            if rng.random() < 0.02:
                del span["kind"]  # malformed: the careful path
            if rng.random() < 0.02:
                span["usage"] = ["not", "a", "dict"]
            spans.append(span)
        if rng.random() < 0.7:  # most traces are listed in tree order already
            listed = [s for _, s in sorted_span_order(spans)]
            spans = listed + [s for s in spans if all(s is not t for t in listed)]
        order = sorted_span_order(spans)[:MAX_SPANS]
        try:
            want = _spans_fast(order)
        except (TypeError, KeyError, AttributeError):
            want = [_span(d, s) for d, s in order]
        got = _compact_listed(spans)
        if got is not None:
            taken += 1
            assert got == want, spans
    assert taken > 500  # the one pass is exercised, not only the fallback


@pytest.mark.parametrize("name", ["three-trials", "tiny"])
def test_report_compares_as_the_gate_does(name: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`passline report` lets build_report compare (reading each run once): its comparison
    and verdict must be the gate's -- what decide() gives from the run directories."""
    from passline.cli.gate import decide

    monkeypatch.chdir(tmp_path)
    runs = write_synthetic_runs(tmp_path / "runs", **PAIRS[name][0])
    paths = build_report(runs.baseline, runs.candidate, tmp_path / "out")
    comparison, verdict = decide(str(runs.baseline), str(runs.candidate), load_policy(),
                                 confirm=False)
    assert paths.comparison is not None and paths.verdict is not None
    assert paths.comparison.to_dict() == comparison.to_dict()
    assert paths.comparison.discordant == comparison.discordant
    assert paths.verdict.to_dict() == verdict.to_dict()
