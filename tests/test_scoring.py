"""Scorers: pass/fail, values and explanations users read when a case fails."""

from __future__ import annotations

import pytest

from passline import AgentRun, Case, Score, ToolCall, Usage
from passline.errors import PasslineError
from passline.scoring import (
    ScorerError,
    all_of,
    budget,
    evaluate,
    final_state_match,
    forbidden_actions,
    mean_of,
    required_facts,
    scorer,
    status_is,
    tool_call_match,
    trajectory_match,
)


def make_run(*calls: tuple[str, dict], answer: str = "", **kw) -> AgentRun:
    return AgentRun(answer=answer, tool_calls=tuple(ToolCall(n, a) for n, a in calls), **kw)


def make_case(**expected) -> Case:
    return Case(id="c1", input={"message": "m"}, expected=expected, dataset="d", version="v1")


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


# ------------------------------------------------------------------------- tool_call_match


def test_tool_call_match_passes_on_same_calls_in_any_order():
    case = make_case(tool_calls=[call("get_order", order_id="ORD-1"),
                                 call("read_policy", doc_id="POL-REF-001")])
    run = make_run(("read_policy", {"doc_id": "POL-REF-001"}), ("get_order", {"order_id": "ORD-1"}))
    s = tool_call_match()(run, case)
    assert (s.name, s.value, s.passed) == ("tool_call_match", 1.0, True)


def test_tool_call_match_names_the_mismatched_argument():
    case = make_case(tool_calls=[call("get_order", order_id="ORD-10042")])
    s = tool_call_match()(make_run(("get_order", {"order_id": "ORD-10024"})), case)
    assert not s.passed and s.value == 0.0
    assert ("expected get_order(order_id='ORD-10042'), got get_order(order_id='ORD-10024')"
            in s.explanation)
    assert "argument order_id" in s.explanation


def test_tool_call_match_says_when_a_tool_was_never_called():
    case = make_case(tool_calls=[call("issue_refund", order_id="ORD-1")])
    s = tool_call_match()(make_run(("get_order", {"order_id": "ORD-1"})), case)
    assert "issue_refund was never called (got: get_order)" in s.explanation


def test_tool_call_match_value_is_fraction_of_expected_calls_matched_one_to_one():
    case = make_case(tool_calls=[call("get_order", order_id="ORD-1"),
                                 call("get_order", order_id="ORD-1")])
    s = tool_call_match()(make_run(("get_order", {"order_id": "ORD-1"})), case)
    assert s.value == 0.5 and not s.passed
    assert "every call matched another expected call" in s.explanation


def test_tool_call_match_uses_maximum_matching_not_greedy_first_fit():
    # The first expectation (subset: order_id only) could grab the first call, which is
    # the only one the second expectation accepts; a greedy matcher would score 0.5.
    case = make_case(tool_calls=[call("issue_refund", order_id="ORD-1"),
                                 call("issue_refund", order_id="ORD-1", amount_usd=20)])
    run = make_run(("issue_refund", {"order_id": "ORD-1", "amount_usd": 20}),
                   ("issue_refund", {"order_id": "ORD-1", "amount_usd": 5}))
    assert tool_call_match(args="subset")(run, case).value == 1.0


def test_numbers_compare_with_tolerance():
    case = make_case(tool_calls=[call("issue_refund", amount_usd=12.5)])
    near = make_run(("issue_refund", {"amount_usd": 12.5000001}))
    far = make_run(("issue_refund", {"amount_usd": 12.51}))
    assert tool_call_match()(near, case).passed
    assert not tool_call_match()(far, case).passed
    assert tool_call_match(tol=0.02)(far, case).passed
    assert tool_call_match(tol=0, rel_tol=0.01)(far, case).passed


def test_numeric_strings_compare_numerically_with_numbers():
    case = make_case(tool_calls=[call("issue_refund", amount_usd=1200.5)])
    assert tool_call_match()(make_run(("issue_refund", {"amount_usd": "1,200.50"})), case).passed
    assert tool_call_match()(make_run(("issue_refund", {"amount_usd": "$1200.5"})), case).passed
    assert not tool_call_match()(make_run(("issue_refund", {"amount_usd": "1,300"})), case).passed


def test_strings_are_normalised_unless_disabled():
    case = make_case(tool_calls=[call("search_policies", query="refund  window")])
    run = make_run(("search_policies", {"query": "  Refund Window "}))
    assert tool_call_match()(run, case).passed
    assert not tool_call_match(normalize_strings=False)(run, case).passed


def test_argument_modes_exact_subset_ignore():
    case = make_case(tool_calls=[call("issue_refund", order_id="ORD-1")])
    run = make_run(("issue_refund", {"order_id": "ORD-1", "reason": "damaged"}))
    exact = tool_call_match()(run, case)
    assert not exact.passed and "unexpected argument reason='damaged'" in exact.explanation
    assert tool_call_match(args="subset")(run, case).passed
    other = make_run(("issue_refund", {"order_id": "ORD-9"}))
    assert not tool_call_match(args="subset")(other, case).passed
    assert tool_call_match(args="ignore")(other, case).passed
    with pytest.raises(ScorerError, match="args must be one of"):
        tool_call_match(args="loose")


def test_tool_call_match_explicit_expected_and_empty_expectation():
    run = make_run(("get_order", {"order_id": "ORD-1"}))
    assert tool_call_match(expected=[call("get_order", order_id="ord-1")])(run, make_case()).passed
    none_expected = tool_call_match()(run, make_case(tool_calls=[]))
    assert not none_expected.passed and "no tool calls expected" in none_expected.explanation
    assert tool_call_match()(make_run(), make_case(tool_calls=[])).passed


def test_malformed_expectation_is_a_scorer_error_not_a_failing_score():
    with pytest.raises(ScorerError, match="tool_calls"):
        tool_call_match()(make_run(), make_case(tool_calls="get_order"))


# ------------------------------------------------------------------------ trajectory_match


@pytest.mark.parametrize(("mode", "got", "passed", "fragment"), [
    ("strict", ["a", "b", "c"], True, ""),
    ("strict", ["a", "c", "b"], False, "position 2: expected b, got c"),
    ("strict", ["a", "b"], False, "position 3: expected c, got nothing"),
    ("strict", ["a", "b", "c", "d"], False, "position 4: expected the end of the trajectory"),
    ("unordered", ["c", "a", "b"], True, ""),
    ("unordered", ["c", "a"], False, "b expected 1 time(s), called 0 time(s)"),
    ("superset", ["x", "a", "b", "c"], True, ""),
    ("superset", ["a", "c"], False, "b expected 1 time(s), called 0 time(s)"),
    ("subset", ["a", "c"], True, ""),
    ("subset", ["a", "x"], False, "unexpected call to x"),
])
def test_trajectory_modes(mode, got, passed, fragment):
    case = make_case(trajectory=["a", "b", "c"])
    s = trajectory_match(mode)(make_run(*[(n, {}) for n in got]), case)
    assert s.passed is passed
    assert fragment in s.explanation
    assert (s.value == 1.0) is passed


def test_trajectory_strict_value_counts_positions_and_falls_back_to_tool_calls():
    case = make_case(tool_calls=[call("a"), call("b")])
    s = trajectory_match()(make_run(("a", {}), ("c", {})), case)
    assert s.value == 0.5 and not s.passed
    with pytest.raises(ScorerError, match="mode must be one of"):
        trajectory_match("fuzzy")


# ------------------------------------------------------------------------ final_state_match


REFUND_CHANGE = {"table": "refunds", "id": "RFD-40021", "op": "insert",
                 "fields": {"order_id": "ORD-10042", "amount_usd": 600.0,
                            "status": "pending_approval"}}


def test_final_state_subset_match_with_number_tolerance():
    case = make_case(final_state=[{"table": "refunds", "op": "insert",
                                   "fields": {"amount_usd": "600", "status": "Pending_Approval"}}])
    s = final_state_match()(make_run(state_changes=(REFUND_CHANGE,)), case)
    assert s.passed and s.value == 1.0


def test_final_state_mismatch_names_the_field():
    case = make_case(final_state=[{"table": "refunds", "fields": {"status": "issued"}}])
    s = final_state_match()(make_run(state_changes=(REFUND_CHANGE,)), case)
    assert not s.passed
    assert "field status: expected 'issued', got 'pending_approval'" in s.explanation
    missing = final_state_match()(make_run(), make_case(final_state=[{"table": "tickets"}]))
    assert "no tickets rows changed" in missing.explanation


def test_final_state_no_changes_and_extra_changes():
    no_changes = make_case(final_state={"no_changes": True})
    assert final_state_match()(make_run(), no_changes).passed
    s = final_state_match()(make_run(state_changes=(REFUND_CHANGE,)), no_changes)
    assert not s.passed and "expected no state changes, got 1: refunds RFD-40021 insert" \
        in s.explanation
    case = make_case(final_state=[{"table": "refunds"}])
    extra = {"table": "tickets", "id": "TCK-1", "op": "update", "fields": {}}
    run = make_run(state_changes=(REFUND_CHANGE, extra))
    assert final_state_match()(run, case).passed
    strict = final_state_match(allow_extra=False)(run, case)
    assert not strict.passed and "1 unexpected: tickets TCK-1 update" in strict.explanation


# -------------------------------------------------------------------------- required_facts


def test_required_facts_normalises_numbers_currency_case_and_whitespace():
    case = make_case(facts=["1,200.50", "POL-REF-001", "manager   approval"])
    run = make_run(answer="Refund of $1200.5 needs Manager approval per pol-ref-001.")
    s = required_facts()(run, case)
    assert s.passed and s.value == 1.0


def test_required_facts_value_is_fraction_and_numbers_must_not_be_partial():
    case = make_case(facts=["12", "30 days", "gold"])
    run = make_run(answer="Returns within 30 days; the total was 120 and 12.5 later.")
    s = required_facts()(run, case)
    assert not s.passed and s.value == pytest.approx(1 / 3)
    assert "missing 2/3 facts: '12', 'gold'" in s.explanation
    assert required_facts(["12"])(make_run(answer="It costs $12."), make_case()).passed


# ----------------------------------------------------------- forbidden, budget and status


def test_forbidden_actions_by_name_and_by_argument_subset():
    run = make_run(("get_order", {"order_id": "ORD-1"}), ("issue_refund", {"order_id": "ORD-1"}))
    s = forbidden_actions()(run, make_case(forbidden=["issue_refund"]))
    assert not s.passed and s.value == 0.0
    assert "forbidden call issue_refund(order_id='ORD-1') at position 2" in s.explanation
    other_order = make_case(forbidden=[call("issue_refund", order_id="ORD-2")])
    assert forbidden_actions()(run, other_order).passed
    blocked = AgentRun(answer="", tool_calls=(ToolCall("issue_refund", {}, error="blocked"),))
    assert not forbidden_actions(["issue_refund"])(blocked, make_case()).passed
    assert forbidden_actions(["issue_refund"], include_failed=False)(blocked, make_case()).passed


def test_budget_from_case_with_argument_override():
    run = make_run(steps=6, usage=Usage(cost_usd=0.02), latency_s=1.0)
    case = make_case(budget={"max_steps": 5, "max_cost_usd": 0.05})
    s = budget()(run, case)
    assert not s.passed and s.value == 0.5 and "6 steps > max 5 steps" in s.explanation
    assert budget(max_steps=8)(run, case).passed
    over = budget(max_cost_usd=0.01, max_latency_s=2)(run, make_case())
    assert "$0.0200 > max $0.0100" in over.explanation and over.value == 0.5


def test_status_is_explicit_from_case_and_default_ok():
    refused = make_run(status="refused")
    assert status_is("guardrail", "refused")(refused, make_case()).passed
    assert status_is()(refused, make_case(status=["refused"])).passed
    s = status_is()(make_run(status="error", error="boom"), make_case())
    assert not s.passed and s.explanation == "status 'error' (error: boom), expected 'ok'"
    with pytest.raises(ScorerError, match="unknown run status 'blocked'"):
        status_is("blocked")


# ----------------------------------------------------------------- combinators and evaluate


def test_all_of_and_mean_of():
    case = make_case(tool_calls=[call("get_order", order_id="ORD-1")], facts=["shipped", "June"])
    run = make_run(("get_order", {"order_id": "ORD-1"}), answer="It shipped.")
    both = all_of(tool_call_match(), required_facts(), name="order_answer")(run, case)
    assert both.name == "order_answer" and not both.passed and both.value == 0.5
    assert "required_facts: missing 1/2 facts: 'June'" in both.explanation
    avg = mean_of(tool_call_match(), required_facts(), threshold=0.7)(run, case)
    assert avg.value == pytest.approx(0.75) and avg.passed
    assert len(avg.details["components"]) == 2


def test_evaluate_drops_not_applicable_scores_and_errors_when_nothing_applies():
    case = make_case(facts=["x"])
    scores = evaluate(make_run(answer="x"), case, [tool_call_match(), required_facts()])
    assert [s.name for s in scores] == ["required_facts"]
    with pytest.raises(ScorerError, match="no scorer applied to case d@v1:c1"):
        evaluate(make_run(), make_case(), [tool_call_match(), final_state_match()])
    assert evaluate(make_run(), make_case(), []) == []  # the eval asserts on its own


def test_a_scorer_that_raises_is_a_harness_error_naming_scorer_and_case():
    @scorer
    def crashes(run, case):
        return 1 / 0

    with pytest.raises(ScorerError) as info:
        evaluate(make_run(), make_case(), [status_is(), crashes])
    assert isinstance(info.value, PasslineError)
    assert info.value.scorer == "crashes" and info.value.case_ref == "d@v1:c1"
    assert "ZeroDivisionError" in str(info.value)


def test_scorer_decorator_checks_signature_at_decoration_time():
    with pytest.raises(ScorerError) as info:
        @scorer
        def only_run(run):
            return True
    message = str(info.value)
    assert "only_run" in message and "test_scoring.py" in message and "(run, case)" in message

    with pytest.raises(ScorerError, match="is async"):
        @scorer
        async def slow(run, case):
            return True


def test_scorer_decorator_names_scores_and_accepts_bools():
    @scorer(name="polite")
    def says_please(run, case):
        return "please" in run.answer

    assert says_please.__name__ == "polite"
    s = says_please(make_run(answer="please wait"), make_case())
    assert s == Score("polite", 1.0, True, "")

    @scorer
    def renamed(run, case):
        return Score("whatever", 0.5, False, "half")

    assert renamed(make_run(), make_case()).name == "renamed"

    @scorer
    def wrong_type(run, case):
        return 0.5

    with pytest.raises(ScorerError, match="returned float"):
        evaluate(make_run(), make_case(), [wrong_type])
