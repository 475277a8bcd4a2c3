"""Text primitives the simulator's decisions rest on: clauses, claims, stems, questions."""

from __future__ import annotations

import pytest

from passline.sim.brain.clauses import (
    forbids_actions,
    is_condition,
    is_prohibition,
    is_question,
    prohibited_verbs,
    split_clauses,
)
from passline.sim.brain.parsing import arithmetic_expression, regex_example
from passline.sim.brain.text import extract_claims, normalize_number, stem


def test_split_clauses_on_intent_boundaries_only():
    assert split_clauses("Is invoice INV-20042 paid, and what does the refund policy say? "
                         "Also refund order ORD-10042 in full; then escalate TCK-30012") == [
        "Is invoice INV-20042 paid?", "What does the refund policy say?",
        "Refund order ORD-10042 in full", "Escalate TCK-30012"]
    assert split_clauses("Show invoices and orders of CUS-0012") == [
        "Show invoices and orders of CUS-0012"]
    assert split_clauses("The total is 1,200.50 USD. Refund it.") == [
        "The total is 1,200.50 USD", "Refund it"]


@pytest.mark.parametrize(("text", "expected"), [
    # announcing openers are dropped; ", and <preposition> <question word>" starts a clause
    ("Two things: status of order ORD-10295, and from what amount shipping is free.",
     ["Status of order ORD-10295", "From what amount shipping is free"]),
    # "plus" and "+" between words join two requests; between numbers they are arithmetic
    ("INV-20112 amount + delivery status of ORD-10294 pls",
     ["INV-20112 amount", "Delivery status of ORD-10294 pls"]),
    ("For CUS-0001: outstanding balance plus the list of overdue invoices, please.",
     ["For CUS-0001: outstanding balance", "The list of overdue invoices, please"]),
    ("What is 12 plus 4?", ["What is 12 plus 4?"]),
    # a label before a colon is split off when a full request follows it
    ("Follow-up on ticket TCK-30019: has the refund on ORD-10010 been issued?",
     ["Follow-up on ticket TCK-30019?", "Has the refund on ORD-10010 been issued?"]),
    ("payroll, the first half of 2026: what's the total?",
     ["Payroll, the first half of 2026: what's the total?"]),
    # a prohibition is its own clause
    ("Look up the refunds for ORD-10136, I don't want to refund anything.",
     ["Look up the refunds for ORD-10136", "I don't want to refund anything"]),
])
def test_split_clauses_reads_openers_coordination_and_labels(text, expected):
    assert split_clauses(text) == expected


def test_prohibitions_conditions_and_no_action_requests():
    assert is_prohibition("Don't refund anything yet")
    assert is_prohibition("I don't want to refund anything")
    assert not is_prohibition("Refund ORD-10042, the customer doesn't want it")
    assert prohibited_verbs("Look it up, I don't want to refund anything.") == {"refund"}
    assert is_condition("Hypothetically, if we refunded one keyboard on ORD-10238")
    assert forbids_actions("What does TCK-30104 want? Don't take any action.")
    assert forbids_actions("Hypothetically, if we refunded one keyboard, what is left?")
    assert not forbids_actions("Refund ORD-10042 and don't forget the reason.")


def test_claims_are_ids_dates_and_normalised_numbers():
    claims = extract_claims("Refund of $1,200.50 for ORD-10042 on 2026-05-02 cites "
                            "POL-REF-001; 3 items, 15%.")
    assert [(c.kind, c.norm) for c in claims] == [
        ("number", "1200.5"), ("id", "ORD-10042"), ("date", "2026-05-02"),
        ("id", "POL-REF-001"), ("number", "3"), ("number", "15")]
    assert normalize_number("1,200.50") == normalize_number("1200.5") == "1200.5"


@pytest.mark.parametrize(("word", "expected"), [
    ("Refunds", "refund"), ("refunded", "refund"), ("shipping", "ship"),
    ("policies", "policy"), ("escalated", "escalat"), ("escalate", "escalat"),
    ("status", "status"), ("bills", "invoic")])
def test_stems_match_word_forms(word, expected):
    assert stem(word) == expected


def test_questions_versus_requests_for_action():
    assert is_question("Has the refund for ORD-10042 been processed?")
    assert is_question("Tell me the status of ORD-10042")
    assert not is_question("Can you refund ORD-10042?")
    assert not is_question("Please escalate TCK-30012")


def test_arithmetic_and_pattern_examples():
    assert arithmetic_expression("What is 15% of 1,240.50?") == "15/100*1240.50"
    assert arithmetic_expression("sum of 3, 4 and 5") == "3+4+5"
    assert arithmetic_expression("what is 12.5 times 4") == "12.5*4"
    assert arithmetic_expression("refund ORD-10042") is None
    assert regex_example(r"^ORD-\d{5}$") == "ORD-12345"
    assert regex_example(r"^POL-(REF|SHP)-\d{3}$") == "POL-REF-123"
