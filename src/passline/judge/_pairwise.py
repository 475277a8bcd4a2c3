"""Pairwise judging with position swap: judge (A, B) and (B, A); a verdict that flips is a tie.

LLM judges prefer whichever answer they read first (or second) more often than the answers
deserve. Asking twice with the positions swapped cancels that: only a preference that
survives the swap counts, and the share of pairs whose verdict flipped measures the bias.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from passline._types import Usage
from passline.judge._judge import SCHEMA_RETRIES, judge_model
from passline.judge._rubric import (
    PAIRWISE_ID,
    RUBRICS_DIR,
    Rubric,
    load_rubric,
    render_messages,
    validate_json,
)

WINNERS = ("A", "B", "tie")
_SWAP = {"A": "B", "B": "A", "tie": "tie"}


@dataclasses.dataclass(frozen=True)
class PairwiseResult:
    """Both orders of one comparison. Every verdict names the caller's answers: ``"A"`` is
    ``answer_a`` whichever position it was shown in.

    ``winner`` is the verdict both orders agree on, else ``"tie"``; ``flipped`` says the order
    changed the verdict (the position bias :func:`position_bias_rate` counts).
    """

    rubric: str
    model: str
    winner: str | None
    first: str | None = None  # answer_a shown first
    second: str | None = None  # answer_b shown first (mapped back to the caller's labels)
    flipped: bool = False
    rationale_first: str = ""
    rationale_second: str = ""
    usage: Usage = dataclasses.field(default_factory=Usage)
    error: str | None = None
    raw: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def positions_chosen(self) -> tuple[str | None, str | None]:
        """The raw positions the judge picked in each order ("A" = whatever was shown first)."""
        return self.first, _SWAP.get(self.second or "", self.second)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["usage"] = self.usage.to_dict()
        return out


def combine(first: str, second_mapped: str) -> tuple[str, bool]:
    """The winner of a swapped pair and whether the verdict flipped.

    >>> combine("A", "A"), combine("A", "B"), combine("tie", "A")
    (('A', False), ('tie', True), ('tie', True))
    """
    if first == second_mapped:
        return first, False
    return "tie", True


async def pairwise(rubric: str | Rubric, *, question: str, answer_a: str, answer_b: str,
                   reference: str | None = None, context: str | None = None,
                   rules: str | None = None, client: Any, model: str | None = None,
                   trial: int = 0, temperature: float | None = None,
                   retries: int = SCHEMA_RETRIES,
                   extra_headers: Mapping[str, str] | None = None) -> PairwiseResult:
    """Compare two answers by a rubric's criteria in both orders (concurrently).

    >>> r = await pairwise("answer-quality@1", question=q, answer_a=good, answer_b=bad,
    ...                    context=ctx, client=client)                    # doctest: +SKIP
    >>> r.winner, r.flipped                                               # doctest: +SKIP
    ('A', False)
    """
    rubric = load_rubric(rubric)
    model = model or judge_model(client.settings)
    template, schema = _pairwise_prompt(rubric)
    base = {"question": question, "reference": reference if rubric.reference != "none" else None,
            "context": context or None, "rules": rules or None, "rubric_key": rubric.key,
            "criteria": rubric.criteria()}
    orders = [
        render_messages(template, {**base, "answer_a": answer_a, "answer_b": answer_b},
                        where=f"pairwise {rubric.key}"),
        render_messages(template, {**base, "answer_a": answer_b, "answer_b": answer_a},
                        where=f"pairwise {rubric.key}"),
    ]
    results = await asyncio.gather(*[
        _verdict(messages, schema, rubric=rubric, client=client, model=model, trial=trial,
                 temperature=temperature, retries=retries, extra_headers=extra_headers)
        for messages in orders])
    usage = results[0][3] + results[1][3]
    for _winner, _reason, error, _usage, raw in results:
        if error is not None:
            return PairwiseResult(rubric=rubric.key, model=model, winner=None, usage=usage,
                                  error=error, raw=raw)
    first, second = results[0][0], _SWAP[results[1][0]]
    winner, flipped = combine(first, second)
    return PairwiseResult(rubric=rubric.key, model=model, winner=winner, first=first,
                          second=second, flipped=flipped, rationale_first=results[0][1],
                          rationale_second=results[1][1], usage=usage)


def position_bias_rate(results: Iterable[PairwiseResult]) -> float:
    """Share of (error-free) comparisons whose verdict changed when the order was swapped.

    >>> position_bias_rate([PairwiseResult("r@1", "m", "tie", "A", "B", flipped=True),
    ...                     PairwiseResult("r@1", "m", "A", "A", "A")])
    0.5
    """
    done = [r for r in results if r.ok]
    if not done:
        return float("nan")
    return sum(r.flipped for r in done) / len(done)


def summarize(results: Iterable[PairwiseResult]) -> dict[str, Any]:
    """Counts of wins, ties, flips and errors over many comparisons."""
    results = list(results)
    done = [r for r in results if r.ok]
    return {"n": len(results), "errors": len(results) - len(done),
            "wins_a": sum(r.winner == "A" for r in done),
            "wins_b": sum(r.winner == "B" for r in done),
            "ties": sum(r.winner == "tie" for r in done),
            "flips": sum(r.flipped for r in done),
            "position_bias_rate": position_bias_rate(done) if done else None}


@functools.lru_cache(maxsize=32)
def _pairwise_files(folder: str, version: int) -> tuple[str, str] | None:
    path = Path(folder) / f"{version}.pairwise.j2"
    schema = Path(folder) / f"{version}.pairwise.schema.json"
    if path.is_file():
        return path.read_text(encoding="utf-8"), (schema.read_text(encoding="utf-8")
                                                 if schema.is_file() else "")
    return None


def _pairwise_prompt(rubric: Rubric) -> tuple[str, dict[str, Any]]:
    """The rubric's own ``<version>.pairwise.j2`` if it has one, else the shared prompt."""
    default_schema = json.loads((RUBRICS_DIR / PAIRWISE_ID / "1.schema.json").read_text(
        encoding="utf-8"))
    own = _pairwise_files(str(Path(rubric.path).parent), rubric.version) if rubric.path else None
    if own is not None:
        return own[0], (json.loads(own[1]) if own[1] else default_schema)
    return (RUBRICS_DIR / PAIRWISE_ID / "1.j2").read_text(encoding="utf-8"), default_schema


async def _verdict(messages: list[dict[str, str]], schema: dict[str, Any], *, rubric: Rubric,
                   client: Any, model: str, trial: int, temperature: float | None,
                   retries: int, extra_headers: Mapping[str, str] | None
                   ) -> tuple[str, str, str | None, Usage, str | None]:
    usage = Usage()
    problem, raw = "", ""
    response_format = {"type": "json_schema",
                       "json_schema": {"name": "pairwise_judge", "schema": schema}}
    for attempt in range(retries + 1):
        result = await client.chat(
            messages, model=model, response_format=response_format,
            temperature=temperature, trial=trial,
            seed=None if not attempt else client.settings.seed + attempt * 104_729,
            cache_tag=f"pairwise:{rubric.key}" + (f":retry{attempt}" if attempt else ""),
            purpose="judge", extra_headers=extra_headers, retry_malformed=False)
        usage = usage + result.usage
        raw = result.content or ""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problem = f"output is not valid JSON ({exc.msg} at char {exc.pos})"
            continue
        problems = validate_json(data, schema)
        if problems:
            problem = "output does not match the pairwise schema: " + "; ".join(problems[:4])
            continue
        winner = str(data["winner"])
        if winner not in WINNERS:
            problem = f"winner {winner!r} is not one of {', '.join(WINNERS)}"
            continue
        return winner, str(data.get("reasoning", "")), None, usage, None
    tries = retries + 1
    return "", "", (f"judge {model} gave no valid pairwise {rubric.key} verdict in {tries} "
                    f"attempts: {problem}; raw output: {raw[:500]!r}"), usage, raw
