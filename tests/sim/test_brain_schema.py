"""Structured output of the simulator's brain: plans, critiques, judge verdicts, and
conformance to any schema in the supported subset (property-tested)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passline.sim.brain import respond
from passline.sim.brain.validate import validate

WORKERS = {
    "finance": "money questions: invoices, unpaid balances, ledger totals, arithmetic",
    "policy": "company rules and policy documents: refund, return and expense policies",
    "support": "orders, tickets and actions: look up an order, issue a refund, escalate",
}
PLAN = {
    "type": "object", "additionalProperties": False,
    "required": ["steps", "needs_clarification", "clarifying_question"],
    "properties": {
        "steps": {"type": "array", "maxItems": 5, "items": {
            "type": "object", "additionalProperties": False, "required": ["worker", "task"],
            "properties": {
                "worker": {"type": "string", "oneOf": [{"const": n, "description": d}
                                                       for n, d in WORKERS.items()]},
                "task": {"type": "string"}}}},
        "needs_clarification": {"type": "boolean"},
        "clarifying_question": {"type": "string"}}}
CRITIQUE = {
    "type": "object", "additionalProperties": False,
    "required": ["verdict", "unsupported_claims", "violations", "feedback"],
    "properties": {
        "verdict": {"type": "string", "enum": ["approve", "revise", "refuse"]},
        "unsupported_claims": {"type": "array", "items": {"type": "string"}},
        "violations": {"type": "array", "items": {"type": "string"}},
        "feedback": {"type": "string"}}}
SCORE = {"type": "object", "additionalProperties": False, "required": ["reasoning", "score"],
         "properties": {"reasoning": {"type": "string"},
                        "score": {"type": "integer", "minimum": 1, "maximum": 5}}}
LABEL = {"type": "object", "required": ["label"],
         "properties": {"label": {"type": "string", "enum": ["fail", "pass"]}}}
PAIR = {"type": "object", "required": ["reasoning", "winner"],
        "properties": {"reasoning": {"type": "string"},
                       "winner": {"type": "string", "enum": ["A", "B", "tie"]}}}
CONTEXT = '{"order_id": "ORD-10042", "status": "delivered", "total_usd": 1200.5}'
REFERENCE = "Order ORD-10042 was delivered; its total is 1,200.50 USD."


def structured(prompt, schema, name, *, model="sim-2", system=None, seed=0):
    messages = ([{"role": "system", "content": system}] if system else [])
    messages.append({"role": "user", "content": prompt})
    request = {"messages": messages, "response_format": {
        "type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}}
    value = json.loads(respond(request, model=model, rng_seed=seed)["content"])
    assert validate(value, schema) == [], value
    return value


# ------------------------------------------------------------------ plans


def test_sim2_plans_one_step_per_intent_in_order():
    plan = structured("Is invoice INV-20042 paid? What does the refund policy say about "
                      "damaged items? Also refund order ORD-10042 in full.", PLAN, "plan")
    assert [s["worker"] for s in plan["steps"]] == ["finance", "policy", "support"]
    assert plan["steps"][2]["task"] == "Refund order ORD-10042 in full"
    assert plan["needs_clarification"] is False and plan["clarifying_question"] == ""


def test_sim1_plans_a_single_step():
    plan = structured("Is invoice INV-20042 paid? Also refund order ORD-10042 in full.", PLAN,
                      "plan", model="sim-1")
    assert len(plan["steps"]) == 1


def test_plan_merges_clauses_of_one_worker_and_copies_ids():
    plan = structured("Look up order ORD-10042 and refund it", PLAN, "plan")
    assert plan["steps"] == [{"worker": "support",
                              "task": "Look up order ORD-10042; Refund it"}]
    plan = structured("What is the refund policy for damaged items and refund ORD-10111",
                      PLAN, "plan")
    assert plan["steps"][0] == {"worker": "policy", "task":
                                "What is the refund policy for damaged items (ORD-10111)"}


def test_plan_asks_when_the_id_is_missing():
    plan = structured("Please refund my order", PLAN, "plan")
    assert plan["needs_clarification"] is True
    assert plan["clarifying_question"].startswith("Which order do you mean?")
    assert structured("Please refund my order", PLAN, "plan",
                      model="sim-1")["needs_clarification"] is False


def test_enum_choice_uses_the_meanings_in_the_description():
    schema = {"type": "object", "required": ["route"], "properties": {"route": {
        "type": "string", "enum": ["billing", "shipping"],
        "description": "billing: invoices and payments; shipping: parcels and delivery"}}}
    assert structured("My parcel has not arrived", schema, "route")["route"] == "shipping"
    assert structured("I was charged twice on my invoice", schema, "route")["route"] == \
        "billing"


# ------------------------------------------------------------------ critique


def critique(answer, *, rules="", model="sim-2"):
    prompt = (f"<question>What about ORD-10042?</question><answer>{answer}</answer>"
              f"<context>{CONTEXT}</context><rules>{rules}</rules>")
    return structured(prompt, CRITIQUE, "critique", model=model)


def test_critique_flags_an_invented_number():
    got = critique("Order ORD-10042 was delivered; its total is 1,350.00 USD.")
    assert got["verdict"] == "revise" and got["unsupported_claims"] == ["1,350.00"]
    assert "1,350.00" in got["feedback"]


def test_critique_approves_a_grounded_answer_with_other_number_formats():
    got = critique("Order ORD-10042 was delivered; its total is $1,200.50.")
    assert got == {"feedback": got["feedback"], "verdict": "approve", "unsupported_claims": [],
                   "violations": []}
    assert next(iter(got)) == "feedback"  # the reasoning comes first


def test_critique_refuses_an_answer_doing_what_a_rule_forbids():
    got = critique("I have issued a refund of 1,200.50 USD for ORD-10042.",
                   rules="- Refunds above 500 USD are never issued directly; they need "
                         "manager approval.")
    assert got["verdict"] == "refuse" and len(got["violations"]) == 1
    pending = critique("Refund for ORD-10042: 1,200.50 USD, status pending manager approval.",
                       rules="- Refunds above 500 USD are never issued directly; they need "
                             "manager approval.")
    assert pending["verdict"] == "approve"


def test_sim1_critic_misses_an_invented_id():
    answer = "Order ORD-10042 and order ORD-99999 were delivered."
    assert critique(answer)["unsupported_claims"] == ["ORD-99999"]
    assert critique(answer, model="sim-1")["verdict"] == "approve"


# ------------------------------------------------------------------ judges


def judge(answer, schema=SCORE, *, model="sim-2", name="judge"):
    prompt = (f"<question>What is the status and total of ORD-10042?</question>"
              f"<reference>{REFERENCE}</reference><answer>{answer}</answer>")
    return structured(prompt, schema, name, model=model)


def test_judge_scores_grounded_complete_answers_higher():
    good = judge("ORD-10042 was delivered and totals 1200.50 USD.")
    partial = judge("ORD-10042 totals 1,200.50 USD.")
    wrong = judge("ORD-10042 is still in transit; it totals 980 USD.")
    assert good["score"] == 5 and wrong["score"] < partial["score"] <= good["score"]
    assert "980" in wrong["reasoning"]
    assert judge("ORD-10042 was delivered and totals 1200.50 USD.", LABEL)["label"] == "pass"
    assert judge("ORD-10042 is still in transit; it totals 980 USD.", LABEL)["label"] == "fail"


def test_sim1_judge_has_verbosity_bias():
    filler = " We really appreciate your patience and your business with us." * 8
    short = "ORD-10042 totals 980 USD and was delivered."
    assert judge(short + filler, model="sim-1")["score"] > judge(short, model="sim-1")["score"]
    assert judge(short + filler)["score"] == judge(short)["score"]


def pairwise(a, b, model):
    prompt = (f"<question>What is the status and total of ORD-10042?</question>"
              f"<reference>{REFERENCE}</reference><answer_a>{a}</answer_a>"
              f"<answer_b>{b}</answer_b>")
    return structured(prompt, PAIR, "pairwise", model=model)["winner"]


def test_pairwise_position_bias_of_sim1_and_not_sim2():
    one = "ORD-10042 was delivered; total 1,200.50 USD."
    two = "Delivered: ORD-10042, 1200.5 USD in total."
    assert pairwise(one, two, "sim-1") == pairwise(two, one, "sim-1") == "A"
    assert pairwise(one, two, "sim-2") == pairwise(two, one, "sim-2") == "tie"
    worse = "ORD-10042 is in transit."
    assert pairwise(worse, one, "sim-2") == "B" and pairwise(one, worse, "sim-2") == "A"


# ------------------------------------------------------------------ json_object & conformance


def test_json_object_uses_the_keys_the_prompt_asks_for():
    request = {"messages": [
        {"role": "system", "content": "Reply in JSON with keys `answer` and `order_ids`."},
        {"role": "user", "content": "<context>[POL-RTN-001] Items may be returned within 30 "
                                    "days.</context> How long can I return ORD-10042?"}],
        "response_format": {"type": "json_object"}}
    value = json.loads(respond(request, model="sim-2", rng_seed=0)["content"])
    assert set(value) == {"answer", "order_ids"} and "30 days" in value["answer"]
    bare = {"messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_object"}}
    assert set(json.loads(respond(bare, model="sim-1", rng_seed=0)["content"])) == {"answer"}


def test_validator_reports_what_is_wrong():
    assert validate({"verdict": "maybe"}, CRITIQUE) != []
    assert validate(6, SCORE["properties"]["score"]) == ["$: 6 violates maximum 5"]
    assert validate(True, {"type": "integer"}) != []  # booleans are not integers
    assert validate({"a": 1}, {"type": "object", "additionalProperties": False}) != []
    assert validate("x", {"oneOf": [{"type": "string"}, {"const": "x"}]}) != []
    assert validate({"n": {"v": 3}}, {"$defs": {"N": {"type": "object", "properties": {
        "v": {"type": "string"}}}}, "type": "object",
        "properties": {"n": {"$ref": "#/$defs/N"}}}) != []


# leaf schemas in the supported subset
_leaf = st.one_of(
    st.just({"type": "string"}),
    st.builds(lambda lo, extra: {"type": "string", "minLength": lo, "maxLength": lo + extra},
              st.integers(0, 5), st.integers(0, 10)),
    st.just({"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"}),
    st.just({"type": "string", "format": "date"}),
    st.lists(st.sampled_from(["red", "green", "blue", "open", "paid"]), min_size=1,
             max_size=4, unique=True).map(lambda v: {"type": "string", "enum": v}),
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-5, 5), st.integers(0, 10)),
    st.builds(lambda lo: {"type": "number", "minimum": lo}, st.floats(-10, 10)),
    st.just({"type": "boolean"}),
    st.just({"type": ["string", "null"]}),
    st.just({"oneOf": [{"const": "finance", "description": "money"},
                       {"const": "support", "description": "orders"}]}),
    st.just({"const": 3}),
)


def _extend(children):
    names = st.sampled_from(["answer", "score", "items", "worker", "task", "reason", "ids",
                             "needs_clarification", "label", "total_usd", "when"])
    objects = st.dictionaries(names, children, min_size=1, max_size=4).flatmap(
        lambda props: st.builds(
            lambda req, closed: {"type": "object", "properties": props,
                                 "required": [k for k, r in zip(props, req, strict=True) if r],
                                 "additionalProperties": not closed},
            st.lists(st.booleans(), min_size=len(props), max_size=len(props)), st.booleans()))
    arrays = st.builds(lambda items, lo, extra: {"type": "array", "items": items,
                                                 "minItems": lo, "maxItems": lo + extra},
                       children, st.integers(0, 2), st.integers(0, 3))
    return st.one_of(objects, arrays)


SCHEMAS = st.recursive(_leaf, _extend, max_leaves=8)


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, model=st.sampled_from(["sim-1", "sim-2"]),
       text=st.sampled_from(["Refund ORD-10042 and check invoice INV-20042",
                             "What is our refund policy?", "hi", ""]))
def test_any_supported_schema_gets_conforming_output(schema, model, text):
    root = {"type": "object", "properties": {"result": schema}, "required": ["result"],
            "$defs": {"Ref": schema}}
    structured(text, root, "anything", model=model)
    ref = {"type": "object", "properties": {"r": {"$ref": "#/$defs/Ref"}}, "required": ["r"],
           "$defs": {"Ref": schema}}
    structured(text, ref, "anything", model=model)


@pytest.mark.parametrize("name", ["critique", "judge", "plan", "grade"])
def test_named_schemas_still_conform_when_fields_are_unusual(name):
    schema = {"type": "object", "required": ["verdict", "score", "notes"], "properties": {
        "verdict": {"type": "string", "enum": ["ok", "not_ok"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "notes": {"type": "array", "minItems": 2, "items": {"type": "string", "maxLength": 12}}},
        "additionalProperties": False}
    structured("<answer>ORD-10042 totals 5 USD</answer><context>{}</context>", schema, name)
