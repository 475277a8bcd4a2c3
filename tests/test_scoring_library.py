"""The ready scorer library: for each scorer a pass, a fail with its one-line explanation, and
a bad configuration refused when the scorer is made."""

from __future__ import annotations

import pytest

from passline._types import AgentRun, Case, ToolCall, Usage
from passline.errors import ConfigError, ScorerError
from passline.scoring import (
    answer_relevance,
    contains_all,
    contains_any,
    context_relevance,
    cost_budget,
    evaluate,
    exact_match,
    faithfulness,
    json_schema_valid,
    json_valid,
    latency_budget,
    length_between,
    normalize_answer,
    normalized_match,
    numeric_match,
    regex_match,
    rouge_l,
    similarity,
)


def case(**expected) -> Case:
    return Case("c1", {"message": "What is the balance of INV-20040?"}, expected,
                dataset="d", version="v1")


def run(answer: str, **kw) -> AgentRun:
    return AgentRun(answer, **kw)


def test_exact_match():
    c = case(answer="ORD-10001 has shipped.")
    assert exact_match()(run("ORD-10001 has shipped."), c).passed
    s = exact_match()(run("ORD-10001 has delivered."), c)
    assert not s.passed and s.explanation == (
        "differs at character 15: expected 'shipped.', got 'delivered.'")
    with pytest.raises(ScorerError, match="must be a string"):
        exact_match()(run("x"), case(answer=12))
    assert not exact_match()(run("x"), case()).details.get("applicable", True)


def test_normalized_match():
    c = case(answer="Refund of $1,200.50 issued.")
    assert normalize_answer('  "Refund of $1,200.50 issued." ') == "refund of 1200.5 issued"
    assert normalized_match()(run("refund of 1200.5   ISSUED"), c).passed
    s = normalized_match()(run("Refund of $1,200 issued."), c)
    assert not s.passed
    assert s.explanation == "differs at character 15: expected '.5 issued', got ' issued'"


def test_regex_match():
    assert regex_match(r"RFD-\d{5}")(run("Refund RFD-40021 issued"), case()).passed
    s = regex_match(r"RFD-\d{5}")(run("I could not issue the refund."), case())
    assert not s.passed
    assert s.explanation == r"no match for /RFD-\d{5}/ in the answer: 'I could not issue the " \
                            "refund.'"
    assert not regex_match(r"\d+", mode="fullmatch")(run("12 days"), case()).passed
    assert regex_match()(run("ok 42"), case(x_regex=r"\d+")).passed
    with pytest.raises(ScorerError, match="invalid regular expression"):
        regex_match("(unclosed")
    with pytest.raises(ScorerError, match="mode must be one of"):
        regex_match("x", mode="match")
    with pytest.raises(ScorerError, match="x_regex: invalid regular expression"):
        regex_match()(run("x"), case(x_regex="[a-"))


def test_numeric_match():
    c = case(answer="The balance is $310.00.")
    assert numeric_match()(run("It is $310 in total."), c).passed
    s = numeric_match(tol=0.01)(run("INV-20040: 301.00 USD"), c)
    assert not s.passed
    assert s.explanation == "expected 310 (tolerance 0.01), got 301 (the last number of the " \
                            "answer)"
    assert numeric_match(rel_tol=0.05)(run("about 300"), c).passed
    assert not numeric_match(pick="only")(run("2 invoices, 310 in all"), c).passed
    assert "has no number" in numeric_match()(run("paid"), c).explanation
    with pytest.raises(ScorerError, match="tolerance is a number >= 0"):
        numeric_match(tol=-1)
    with pytest.raises(ScorerError, match="pick must be one of"):
        numeric_match(pick="max")


def test_json_valid():
    assert json_valid()(run('{"a": 1}'), case()).passed
    s = json_valid()(run('{"a": 1 "b": 2}'), case())
    assert not s.passed and s.explanation == ("answer is not valid JSON: Expecting ',' "
                                              "delimiter at line 1, column 9")


def test_json_schema_valid():
    schema = {"type": "object", "required": ["order_id"],
              "properties": {"order_id": {"type": "string"}, "qty": {"type": "integer"}}}
    assert json_schema_valid(schema)(run('{"order_id": "ORD-1"}'), case()).passed
    s = json_schema_valid(schema)(run('{"qty": "two"}'), case())
    assert not s.passed
    assert s.explanation == ("answer does not match the schema at $: 'order_id' is a "
                             "required property (+1 more)")
    s = json_schema_valid(schema)(run('{"order_id": "A", "qty": "two"}'), case())
    assert s.explanation == ("answer does not match the schema at $['qty']: 'two' is not of "
                             "type 'integer'")
    assert "not valid JSON" in json_schema_valid(schema)(run("nope"), case()).explanation
    assert json_schema_valid()(run("[1]"), case(x_schema={"type": "array"})).passed
    with pytest.raises(ScorerError, match="not a valid JSON Schema"):
        json_schema_valid({"type": "nonsense"})
    with pytest.raises(ScorerError, match="a JSON Schema is an object"):
        json_schema_valid(["type"])  # type: ignore[arg-type]


def test_similarity():
    c = case(answer="Your refund of 42 USD was issued today.")
    assert similarity(threshold=0.9)(run("Your refund of 42 USD was issued today!"), c).passed
    s = similarity(threshold=0.9)(run("We cannot refund this order."), c)
    assert not s.passed and s.explanation.startswith("similarity 0.")
    assert s.explanation.endswith("< 0.90 (ratio) to the expected answer")
    assert similarity(method="token_sort_ratio", threshold=0.95)(
        run("today was issued your refund of 42 USD"), c).passed
    with pytest.raises(ScorerError, match="threshold must be a number in"):
        similarity(threshold=1.5)
    with pytest.raises(ScorerError, match="method must be one of"):
        similarity(method="levenshtein")


def test_rouge_l():
    c = case(answer="the cat sat on the mat")
    s = rouge_l(threshold=0.7)(run("the cat was sitting on the mat"), c)
    assert s.passed and s.value == pytest.approx(0.769, abs=1e-3)  # rouge-score's own figure
    f = rouge_l(threshold=0.6)(run("a dog barked"), c)
    assert not f.passed and f.explanation == ("ROUGE-L F 0.00 < 0.60 (precision 0.00, "
                                              "recall 0.00)")
    with pytest.raises(ScorerError, match="threshold must be a number in"):
        rouge_l(threshold=-0.1)


def test_contains_all_and_any():
    answer = run("Refund RFD-1 of 42 USD is pending approval.")
    assert contains_all(["rfd-1", "pending"])(answer, case()).passed
    s = contains_all(["RFD-1", "issued", "5 business days"])(answer, case())
    assert not s.passed and s.value == pytest.approx(1 / 3)
    assert s.explanation == "missing 2/3: 'issued', '5 business days'"
    assert contains_any(["issued", "pending"])(answer, case()).passed
    s = contains_any(["issued", "refused"])(answer, case())
    assert not s.passed and s.explanation == "none of 'issued', 'refused' in the answer"
    assert contains_all()(answer, case(x_contains=["RFD-1"])).passed
    with pytest.raises(ScorerError, match="non-empty list of non-empty strings"):
        contains_all("RFD-1")  # type: ignore[arg-type]
    with pytest.raises(ScorerError, match="non-empty list"):
        contains_any([])


def test_length_between():
    assert length_between(max_len=5, unit="words")(run("one two three"), case()).passed
    s = length_between(max_len=2, unit="words")(run("one two three"), case())
    assert not s.passed and s.explanation == "answer is 3 words, more than the maximum of 2"
    assert "fewer than the minimum of 10" in length_between(min_len=10)(run("short"),
                                                                        case()).explanation
    with pytest.raises(ScorerError, match="min_len is larger than max_len"):
        length_between(5, 2)
    with pytest.raises(ScorerError, match="give min_len, max_len or both"):
        length_between()
    with pytest.raises(ScorerError, match="unit must be one of"):
        length_between(max_len=3, unit="tokens")


def test_cost_and_latency_budgets():
    cheap = run("ok", usage=Usage(10, 5, 0.004), latency_s=0.5)
    dear = run("ok", usage=Usage(10, 5, 0.02), latency_s=3.0)
    assert cost_budget(0.01)(cheap, case()).passed
    s = cost_budget(0.01)(dear, case())
    assert not s.passed and s.explanation == "over budget: $0.0200 > max $0.0100"
    assert latency_budget(1.0)(cheap, case()).passed
    assert latency_budget(1.0)(dear, case()).explanation == "over budget: 3.00s > max 1.00s"
    with pytest.raises(ScorerError, match="a budget is a number > 0"):
        cost_budget(0)
    with pytest.raises(ScorerError, match="a budget is a number > 0"):
        latency_budget(-2.0)


# ---- RAG metrics through the judge ----------------------------------------------------


def _judgement(label: str, rubric: str):
    from passline.judge import Judgement, load_rubric

    r = load_rubric(rubric)
    return Judgement(rubric=r.key, model="sim-2", kind="label", label=label,
                     value=r.normalise(label), rationale=f"because {label}")


@pytest.mark.parametrize(("factory", "rubric", "good", "bad"), [
    (context_relevance, "context-relevance@1", "relevant", "irrelevant"),
    (faithfulness, "groundedness@1", "grounded", "ungrounded"),
    (answer_relevance, "answer-relevance@1", "relevant", "partially"),
])
def test_rag_verdicts_pass_fail_and_name_the_judges_calibration(factory, rubric, good, bad,
                                                                tmp_path):
    scorer = factory(root=tmp_path)  # no calibration stored there
    ok = scorer.score_from(_judgement(good, rubric))
    assert ok.passed and ok.value == 1.0
    no = scorer.score_from(_judgement(bad, rubric))
    assert not no.passed
    assert no.explanation.startswith("[informational: untrusted judge, never calibrated")
    assert no.explanation.endswith(f"{bad}: because {bad} [judge uncalibrated: no agreement "
                                   "measured]")
    assert no.details["calibration"] == "uncalibrated" and no.details["rubric"] == rubric
    with pytest.raises(ConfigError, match=r"'excellent' is not one of its labels"):
        factory(threshold="excellent")


def test_rag_scorers_judge_through_the_simulator_with_the_retrieved_context(tmp_path):
    c = Case("c1", {"message": "What is the status of ORD-10001?"}, {}, dataset="d",
             version="v1")
    r = run("ORD-10001 has shipped.", tool_calls=(ToolCall(
        "get_order", {"order_id": "ORD-10001"}, result={"order_id": "ORD-10001",
                                                         "status": "shipped"}),),
            metadata={"contexts": ["ORD-10001 status: shipped (2026-06-28)"]})
    scorers = [context_relevance(root=tmp_path), faithfulness(root=tmp_path),
               answer_relevance(root=tmp_path)]
    assert scorers[0].inputs(r, c)["context"] == "ORD-10001 status: shipped (2026-06-28)"
    scores = evaluate(r, c, scorers)
    assert [s.name for s in scores] == ["context_relevance", "faithfulness", "answer_relevance"]
    for s in scores:
        assert s.details["judge_model"] and s.explanation.endswith(
            "[judge uncalibrated: no agreement measured]")
