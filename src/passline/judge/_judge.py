"""One verdict of an LLM judge on one answer, with self-consistency over ``n`` samples.

A verdict that does not parse or does not match the rubric's schema is retried, and if it
stays bad the :class:`Judgement` carries ``error`` and the raw text: it is never silently
turned into a score. Judge calls go through the shared :class:`~passline.models.ModelClient`
with ``purpose="judge"`` (so judge tokens and cost are reported apart from the agent's) and
``cache_tag`` = the rubric's ``id@version`` (a new rubric version is a new cache entry).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from passline._types import Usage
from passline.errors import ConfigError
from passline.judge._rubric import Rubric, load_rubric

log = logging.getLogger(__name__)

#: temperature used for self-consistency samples when ``n > 1`` and none is given
SAMPLING_TEMPERATURE = 0.7
#: score rubrics: samples further apart than this (max - min, in levels) are flagged
MAX_SPREAD = 1.0
#: label rubrics: a disagreement share (1 - majority share) above this is flagged
MAX_DISAGREEMENT = 0.34
#: extra attempts after a malformed or schema-violating verdict
SCHEMA_RETRIES = 2
_SEED_STEP = 7919  # per-sample seed offset
_RETRY_SEED_STEP = 104_729  # per-attempt seed offset


def judge_model(settings: Any) -> str:
    """The judge model: ``judge_model`` if set, else ``model`` -- never the agent's variant."""
    return str(getattr(settings, "judge_model", "") or settings.model)


@dataclasses.dataclass(frozen=True)
class Judgement:
    """A judge's verdict on one answer (aggregated over ``n`` samples).

    ``score`` (score rubrics: the mean of the samples) or ``label`` (label rubrics: the
    majority), ``value`` = the verdict on 0..1, ``spread`` = max - min of the sample scores or
    the share of samples disagreeing with the majority label, ``flagged`` = the samples
    disagree more than the threshold. ``error``/``raw`` are set when no valid verdict came
    back; then ``score``, ``label`` and ``value`` are None.
    """

    rubric: str
    model: str
    kind: str
    score: float | None = None
    label: str | None = None
    value: float | None = None
    rationale: str = ""
    samples: tuple[Any, ...] = ()
    rationales: tuple[str, ...] = ()
    spread: float = 0.0
    flagged: bool = False
    error: str | None = None
    raw: str | None = None
    usage: Usage = dataclasses.field(default_factory=Usage)
    cached: bool = False
    failed_samples: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def verdict(self) -> Any:
        """The score (score rubrics) or label (label rubrics)."""
        return self.score if self.kind == "score" else self.label

    def __repr__(self) -> str:
        if self.error:
            return f"Judgement({self.rubric!r}, error={self.error[:80]!r})"
        what = f"score={self.score:g}" if self.kind == "score" else f"label={self.label!r}"
        flag = ", flagged" if self.flagged else ""
        return (f"Judgement({self.rubric!r}, {what}, samples={list(self.samples)}{flag}, "
                f"cost=${self.usage.cost_usd:.6f})")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["samples"] = list(self.samples)
        out["rationales"] = list(self.rationales)
        out["usage"] = self.usage.to_dict()
        return out


@dataclasses.dataclass(frozen=True)
class _Sample:
    verdict: Any = None
    reasoning: str = ""
    usage: Usage = dataclasses.field(default_factory=Usage)
    cached: bool = False
    error: str | None = None
    raw: str | None = None


def aggregate(rubric: Rubric, samples: Sequence[Any], rationales: Sequence[str] = (), *,
              max_spread: float = MAX_SPREAD,
              max_disagreement: float = MAX_DISAGREEMENT) -> dict[str, Any]:
    """Self-consistency: mean and spread of scores, or majority and disagreement of labels.

    A tie between labels goes to the worse label (the conservative verdict) and is flagged.

    >>> aggregate(load_rubric("answer-quality@1"), [4, 5, 2])["flagged"]
    True
    """
    if not samples:
        raise ValueError("aggregate needs at least one sample")
    rationales = list(rationales) + [""] * (len(samples) - len(rationales))
    if rubric.kind == "score":
        values = [float(s) for s in samples]
        mean = sum(values) / len(values)
        spread = max(values) - min(values)
        median = sorted(values)[len(values) // 2]
        pick = min(range(len(values)), key=lambda i: abs(values[i] - median))
        return {"score": mean, "label": None, "value": rubric.normalise(mean),
                "spread": spread, "flagged": spread > max_spread,
                "rationale": rationales[pick]}
    counts = collections.Counter(samples)
    top = max(counts.values())
    tied = [lab for lab in counts if counts[lab] == top]
    label = min(tied, key=rubric.level_index)
    disagreement = 1.0 - top / len(samples)
    pick = next(i for i, s in enumerate(samples) if s == label)
    return {"score": None, "label": label, "value": rubric.normalise(label),
            "spread": disagreement, "flagged": len(tied) > 1 or disagreement > max_disagreement,
            "rationale": rationales[pick]}


async def judge(rubric: str | Rubric, *, question: str, answer: str,
                reference: str | None = None, context: str | None = None,
                rules: str | None = None, client: Any, model: str | None = None, n: int = 1,
                trial: int = 0, temperature: float | None = None, seed: int | None = None,
                max_spread: float = MAX_SPREAD, max_disagreement: float = MAX_DISAGREEMENT,
                retries: int = SCHEMA_RETRIES,
                extra_headers: Mapping[str, str] | None = None) -> Judgement:
    """Judge one answer with a rubric; ``n > 1`` draws ``n`` seeded samples (temperature > 0)
    and aggregates them (see :func:`aggregate`).

    ``model`` defaults to the settings' ``judge_model`` (else ``model``). Transport failures
    that retries cannot cure raise :class:`~passline.errors.ModelError`; a verdict that stays
    malformed is returned as a Judgement with ``error`` and ``raw``.

    >>> j = await judge("answer-quality@1", question="Where is ORD-10042?",
    ...                 answer="ORD-10042 was delivered on 2026-05-02.",
    ...                 context='{"order_id": "ORD-10042", "status": "delivered"}',
    ...                 client=client)                                   # doctest: +SKIP
    >>> j.score, j.rationale                                             # doctest: +SKIP
    """
    rubric = load_rubric(rubric)
    model = model or judge_model(client.settings)
    if n < 1:
        raise ConfigError(f"judge n must be >= 1, got {n}")
    if temperature is None:
        temperature = 0.0 if n == 1 else SAMPLING_TEMPERATURE
    if n > 1 and temperature <= 0:
        raise ConfigError(f"self-consistency with n={n} needs temperature > 0 (got "
                          f"{temperature}); at temperature 0 every sample is the same verdict")
    if rubric.reference == "required" and not reference:
        raise ConfigError(f"rubric {rubric.key} is reference-guided and needs a reference "
                          "answer; pass reference= (e.g. from case.expected['answer'])")
    messages = rubric.render(question=question, answer=answer,
                             reference=reference if rubric.reference != "none" else None,
                             context=context or None, rules=rules or None)
    base_seed = client.settings.seed if seed is None else seed
    results = await asyncio.gather(*[
        _sample(rubric, messages, client=client, model=model, temperature=temperature,
                seed=base_seed + i * _SEED_STEP, trial=trial, retries=retries,
                extra_headers=extra_headers)
        for i in range(n)])
    return _combine(rubric, model, results, max_spread=max_spread,
                    max_disagreement=max_disagreement)


def _combine(rubric: Rubric, model: str, results: Sequence[_Sample], *, max_spread: float,
             max_disagreement: float) -> Judgement:
    usage = Usage()
    for r in results:
        usage = usage + r.usage
    good = [r for r in results if r.error is None]
    failed = len(results) - len(good)
    cached = all(r.cached for r in results)
    if len(good) * 2 < len(results) or not good:
        bad = next(r for r in results if r.error is not None)
        return Judgement(rubric=rubric.key, model=model, kind=rubric.kind, error=bad.error,
                         raw=bad.raw, usage=usage, cached=cached, failed_samples=failed)
    agg = aggregate(rubric, [r.verdict for r in good], [r.reasoning for r in good],
                    max_spread=max_spread, max_disagreement=max_disagreement)
    return Judgement(rubric=rubric.key, model=model, kind=rubric.kind, score=agg["score"],
                     label=agg["label"], value=agg["value"], rationale=agg["rationale"],
                     samples=tuple(r.verdict for r in good),
                     rationales=tuple(r.reasoning for r in good), spread=agg["spread"],
                     flagged=agg["flagged"] or failed > 0, usage=usage, cached=cached,
                     failed_samples=failed)


async def _sample(rubric: Rubric, messages: list[dict[str, str]], *, client: Any, model: str,
                  temperature: float, seed: int, trial: int, retries: int,
                  extra_headers: Mapping[str, str] | None) -> _Sample:
    """One verdict, retried (with a fresh seed and cache tag) while it is malformed."""
    usage = Usage()
    cached = True
    problem, raw = "", None
    for attempt in range(retries + 1):
        result = await client.chat(
            messages, model=model, response_format=rubric.response_format(),
            temperature=temperature, seed=seed + attempt * _RETRY_SEED_STEP, trial=trial,
            cache_tag=f"judge:{rubric.key}" + (f":retry{attempt}" if attempt else ""),
            purpose="judge", extra_headers=extra_headers, retry_malformed=False)
        usage = usage + result.usage
        cached = cached and result.cached
        raw = result.content or ""
        verdict, reasoning, problem = parse_verdict(rubric, raw)
        if not problem:
            return _Sample(verdict=verdict, reasoning=reasoning, usage=usage, cached=cached)
        log.info("judge %s (%s) attempt %d: %s", model, rubric.key, attempt + 1, problem)
    tries = retries + 1
    return _Sample(usage=usage, cached=cached, raw=raw,
                   error=f"judge {model} gave no valid {rubric.key} verdict in {tries} "
                         f"attempt{'s' if tries > 1 else ''}: {problem}; raw output: "
                         f"{(raw or '')[:500]!r}")


def parse_verdict(rubric: Rubric, raw: str) -> tuple[Any, str, str]:
    """``(verdict, reasoning, problem)`` from a model's raw output; ``problem`` empty if valid."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, "", f"output is not valid JSON ({exc.msg} at char {exc.pos})"
    problems = rubric.validate(data)
    if problems:
        return None, "", "output does not match the rubric schema: " + "; ".join(problems[:4])
    verdict = data[rubric.verdict_field]
    if rubric.kind == "score":
        verdict = int(verdict)
    reasoning = next((str(data[k]) for k in ("reasoning", "rationale", "explanation")
                      if isinstance(data.get(k), str)), "")
    return verdict, reasoning, ""
