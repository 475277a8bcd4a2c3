"""Candidate agents for the shadow tests: deliberately worse than production, in plain ways."""

from __future__ import annotations


def refuses(case_input, ctx):
    """Answers nothing: every request gets the same apology."""
    return "Sorry, I can't look that up right now. Please try again later."
