"""The simulator judge binds each claim to what it is about in the context.

Every record, name and figure here is invented for these tests (a furniture shop and its
orders); none comes from a golden dataset or the calibration set.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from passline.sim.brain import respond
from passline.sim.brain.assess import assess
from passline.sim.brain.binding import bind_claims
from passline.sim.brain.evidence import gather, numbers

ORDER = {"order_id": "SO-4471", "status": "delivered", "total_usd": 655.0,
         "items": [{"sku": "T-1", "name": "Oak table 3x5 ft", "qty": 1, "unit_usd": 410.0},
                   {"sku": "C-2", "name": "Side chair", "qty": 2, "unit_usd": 122.5}],
         "refunds": [{"refund_id": "RF-9001", "amount_usd": 245.0,
                      "status": "pending_approval"}]}
CONTEXT = json.dumps({"tool": "get_sale", "arguments": {"sale_id": "SO-4471"},
                      "result": ORDER})
POLICY = json.dumps({"tool": "find_rules", "result": {"hits": [{"doc_id": "RUL-TRV-01",
    "title": "Car use", "snippet": "Private cars are paid at 0.52 EUR per mile. Rental vans "
    "need a 30 EUR deposit; tools rented with them carry a fee of 12 percent of the price."}]}})


def verdicts(answer: str, *sources: str) -> dict[str, str]:
    ev = gather(list(sources or [CONTEXT]))
    return {c.text: c.verdict for c in bind_claims(answer, ev)}


def test_numbers_inside_json_string_values_are_evidence() -> None:
    assert verdicts("The table is 3 by 5 ft.") == {"3": "supported", "5": "supported"}
    # the same figures in another unit are not what the record says
    assert set(verdicts("The table is 3x5 m.").values()) == {"contradicted"}
    assert [(n.value, n.unit) for n in numbers("a 2x4 m board")] == [(2, "m"), (4, "m")]


def test_a_figure_bound_to_the_wrong_thing_is_contradicted() -> None:
    assert verdicts("SO-4471 has an oak table; its price is 410 USD.")["410"] == "supported"
    # the sale total given as the price of the table
    assert verdicts("The oak table. Price: 655 USD.")["655"] == "contradicted"
    assert verdicts("SO-4471 came to 655 USD in total.")["655"] == "supported"


def test_units_and_derived_figures() -> None:
    assert verdicts("Private cars are paid 0.52 EUR per mile.", POLICY)["0.52"] == "supported"
    assert verdicts("Private cars are paid 0.52 EUR per km.", POLICY)["0.52"] == "contradicted"
    # 12 percent is the fee on tools; 30 is the deposit, in EUR, not a percentage
    assert verdicts("Rented tools carry a 30 percent fee.", POLICY)["30"] == "contradicted"
    # a sum of two amounts of the record is arithmetic on the context, not an invention
    assert verdicts("Two chairs and the table: 655 USD; the chairs alone 245 USD.")[
        "245"] == "supported"
    assert verdicts("The deposit is 60 EUR.", POLICY)["60"] in ("unsupported", "contradicted")


def test_status_words_are_checked_against_the_record_they_are_about() -> None:
    assert verdicts("Refund RF-9001 has been issued.")["issued"] == "contradicted"
    assert verdicts("Refund RF-9001 is pending approval.")["pending"] == "supported"
    assert "issued" not in verdicts("Refund RF-9001 has not been issued yet.")
    # future and conditional wording asserts nothing about now
    assert "issued" not in verdicts("The refund will be issued once a manager approves it.")


def test_levels_follow_the_rubric_anchors() -> None:
    q = "What does the oak table on SO-4471 cost?"
    ref = "The oak table costs 410.00 USD."

    def level(answer: str) -> int:
        return assess(answer, question=q, sources=[CONTEXT], reference=ref, rules=None).level

    assert level("The oak table on SO-4471 costs 410.00 USD.") == 5
    padded = ("Thank you so much for your patience while I looked at this. The oak table on "
              "SO-4471 costs 410.00 USD. I truly hope this helps, and do reach out again "
              "whenever something else comes up for you.")
    assert level(padded) == 4
    assert level("The oak table costs about 400 USD.") == 4  # rounded where exact is known
    assert level("The oak table on SO-4471 costs 655.00 USD.") == 2
    assert level("I've refunded the oak table for you.") == 1  # an action nobody took
    ground = assess("SO-4471: the table costs 410 USD, delivered by Falcon Freight.",
                    question=q, sources=[CONTEXT], reference=None, rules=None,
                    support_only=True)
    assert ground.support == 0.5  # main claim supported, an invented carrier


SCORE = {"type": "object", "additionalProperties": False, "required": ["reasoning", "score"],
         "properties": {"reasoning": {"type": "string"},
                        "score": {"type": "integer", "minimum": 1, "maximum": 5}}}
GROUNDED = {"type": "object", "additionalProperties": False, "required": ["reasoning", "label"],
            "properties": {"reasoning": {"type": "string"},
                           "label": {"enum": ["ungrounded", "partially", "grounded"]}}}


def verdict(answer: str, schema: dict[str, Any], model: str = "sim-2") -> Any:
    prompt = (f"<question>Has the refund for SO-4471 gone through?</question>"
              f"<context>{CONTEXT}</context><answer>{answer}</answer>")
    request = {"messages": [{"role": "system", "content": "Grade the answer."},
                            {"role": "user", "content": prompt}],
               "response_format": {"type": "json_schema",
                                   "json_schema": {"name": "verdict", "schema": schema}}}
    return json.loads(respond(request, model=model, rng_seed=0)["content"])


@pytest.mark.parametrize("model", ["sim-1", "sim-2"])
def test_over_http_shape_a_pending_refund_called_paid_is_the_worst_grade(model: str) -> None:
    good = verdict("Not yet: refund RF-9001 of 245.00 USD is pending approval.", SCORE, model)
    bad = verdict("Yes, refund RF-9001 of 245.00 USD has been issued.", SCORE, model)
    assert good["score"] == 5 and bad["score"] == 1
    assert "pending" in bad["reasoning"]
    assert verdict("Yes, refund RF-9001 has been issued.", GROUNDED, model)["label"] == \
        "ungrounded"
    assert verdict("Refund RF-9001 of 245.00 USD is pending approval.", GROUNDED,
                   model)["label"] == "grounded"
