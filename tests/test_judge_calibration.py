"""The judge-calibration datasets: labels say who made them, contexts are real tool output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passline.golden import validate
from passline.golden._labels import LABEL_KINDS, check_label_fields
from passline.golden._schema import check_row

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "golden" / "judge-calibration" / "v2" / "data.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_v2_is_valid_and_every_label_says_who_made_it_and_why() -> None:
    assert [str(p) for p in validate("judge-calibration@v2", root=ROOT)] == []
    rows = _rows(V2)
    assert len(rows) >= 116 + 40
    for row in rows:
        exp = row["expected"]
        src = exp["x_label_source"]
        # no person labelled v2: its labels must never claim to be human
        assert src["kind"] == "reference" and "AI" in src["labeller"], row["id"]
        assert exp["x_label_reason"].strip() and "\n" not in exp["x_label_reason"]
        assert {"question", "context", "answer"} <= set(src["saw"])
    new = [r for r in rows if "origin:v2" in r["tags"]]
    assert len(new) >= 40 and all("design:none" in r["tags"] for r in new)
    relabelled = [r for r in rows if "origin:v1" in r["tags"]]
    assert len(relabelled) == 116 and all("v1_label" in r["metadata"] for r in relabelled)


def test_v2_contexts_are_what_the_tools_return_on_a_fresh_world(tmp_path: Path) -> None:
    from agents.tools import call_tool
    from agents.world import World
    from passline._types import ToolCall
    from passline.judge import format_tool_context

    contexts = {r["expected"]["x_context"] for r in _rows(V2) if r["expected"].get("x_context")}
    for i, context in enumerate(sorted(contexts)):
        calls = [json.loads(line) for line in context.splitlines()]
        with World.fresh(tmp_path / f"w{i}") as world:
            replayed = []
            for call in calls:
                result = call_tool(world, call["tool"], call["arguments"])
                replayed.append(ToolCall(call["tool"], call["arguments"], result=result))
        assert format_tool_context(replayed) == context


@pytest.mark.parametrize(("source", "problem"), [
    ({"kind": "humans"}, "kind 'humans' must be one of"),
    ({"kind": "human", "labeller": ""}, "labeller must be a non-empty string"),
    ({"schema_version": 2}, "schema_version 2 is not supported"),
    ({"saw": "everything"}, "saw must be a list"),
    ({"colour": "blue"}, "unknown field(s) 'colour'"),
])
def test_label_source_problems_are_named(source: dict[str, Any], problem: str) -> None:
    good = {"schema_version": 1, "kind": "reference", "labeller": "an AI agent",
            "labelled_on": "2026-12-03", "protocol": "card.md"}
    exp = {"x_label_source": {**good, **source}, "x_label_reason": "why"}
    assert any(problem in p for p in check_label_fields(exp)), check_label_fields(exp)
    assert check_label_fields({"x_label_source": good, "x_label_reason": "why"}) == []
    assert set(LABEL_KINDS) == {"human", "reference", "model"}


def test_a_reason_needs_a_source_and_a_source_needs_a_reason() -> None:
    row = {"id": "a", "input": {"message": "q"}, "expected": {"x_label_reason": "why"}}
    assert any("without expected.x_label_source" in p for p in check_row(row))
    row["expected"] = {"x_label_source": {"schema_version": 1, "kind": "human",
                                          "labeller": "R. Lee", "labelled_on": "2026-01-02",
                                          "protocol": "card"}}
    assert any("x_label_reason is not" in p for p in check_row(row))
    row["expected"]["x_label_reason"] = "line one\nline two"
    assert any("must be one line" in p for p in check_row(row))
