"""Tiny text utilities shared by policy search and memory: tokenize, stopwords, light stemming."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not of off on once only or other our ours out over own same she should so some such than
that the their theirs them then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours us let
please tell know want need get got
""".split())


def stem(word: str) -> str:
    """A light suffix stemmer: returns/returned/returning -> return, policies -> policy."""
    if len(word) <= 3 or word[0].isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ses", "xes", "ches", "shes")):
                return word[:-1]
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


def tokens(text: str) -> list[str]:
    """Lowercased, stopword-free, stemmed tokens; hyphenated ids stay whole and add their parts."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        parts = word.split("-") if "-" in word else []
        for token in (word, *parts):
            if token and token not in STOPWORDS:
                out.append(stem(token))
    return out


def approx_tokens(text: str) -> int:
    """Approximate LLM token count: about 4 characters per token."""
    return (len(text) + 3) // 4
