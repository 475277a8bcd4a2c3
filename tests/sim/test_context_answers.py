"""Answers from a prose context: sim-2 answers with the sentences relevant to the question,
not with every sentence that holds a number (so a required-facts eval over a FAQ is not green
whatever the question)."""

from __future__ import annotations

import pytest

from passline.sim.brain import respond

CONTEXT = (
    "The observatory opens at 10:00 on weekdays and at 12:00 on Sundays. "
    "Adult tickets cost 14 EUR and tickets for children under 12 cost 6 EUR. "
    "The rooftop telescope closes at 22:30 from April to September. "
    "Groups of more than 15 visitors must book 3 days ahead. "
    "Photography is allowed everywhere except the planetarium."
)


def answer(question: str, model: str = "sim-2") -> str:
    prompt = f"<context>{CONTEXT}</context>\n<question>{question}</question>"
    reply = respond({"messages": [{"role": "user", "content": prompt}]}, model=model,
                    rng_seed=0)
    return reply["content"]


@pytest.mark.parametrize("question, wanted, unwanted", [
    ("How much does a ticket for a child cost?", ["6 EUR"], ["22:30", "15 visitors"]),
    ("Until when is the rooftop telescope open?", ["22:30"], ["14 EUR", "15 visitors"]),
    ("How far ahead must a large group book?", ["3 days"], ["22:30", "14 EUR"]),
    ("When does it open on Sundays, and can I take photos in the planetarium?",
     ["12:00", "planetarium"], ["22:30", "15 visitors"]),
])
def test_sim2_answers_with_the_relevant_sentences(question, wanted, unwanted):
    text = answer(question)
    for fact in wanted:
        assert fact in text, text
    for fact in unwanted:
        assert fact not in text, text


def test_a_question_about_nothing_in_the_context_does_not_recite_every_number():
    text = answer("Is there a car park?")
    numbers = sum(n in text for n in ("10:00", "14 EUR", "22:30", "15 visitors", "3 days"))
    assert numbers <= 1, text
