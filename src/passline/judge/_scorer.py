"""The judge as a passline scorer: ``judge_scorer(...)(run, case) -> Score``.

The eval session calls ``aprepare(run, case, client=, trial=)`` on the runner's loop as soon
as a run finishes, so judge calls run concurrently with other agent runs; ``__call__`` then
only reads the prepared :class:`Judgement` (waiting for it if it is still in flight). Called
without preparation (a plain ``evaluate(run, case, [scorer])``), it judges on the spot. A judge
that gives no valid verdict makes the case an *error* (:class:`ScorerError` with the raw
output), never a silently failing score.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._types import AgentRun, Case, RunStatus, Score, ToolCall
from passline.errors import ConfigError, PasslineError, RecordError, ScorerError
from passline.judge._calibrate import load_calibration, summary
from passline.judge._judge import Judgement, judge, judge_model
from passline.judge._policy import judge_gates, trust_note
from passline.judge._rubric import Rubric, load_rubric
from passline.scoring._base import ADVISORY

log = logging.getLogger(__name__)

#: tool results beyond this many characters are cut from the judge's context
MAX_CONTEXT_CHARS = 12_000
Source = str | Callable[[Case], Any] | None


class JudgeScorer:
    """A rubric-based judge scorer; build it with :func:`judge_scorer`."""

    def __init__(self, rubric: str | Rubric, *, threshold: Any = None,
                 reference_from: Source = "expected.answer", context_from_tools: bool = True,
                 question_from: Source = "input.message", n: int = 1,
                 temperature: float | None = None, model: str | None = None,
                 rules: str | None = None, name: str | None = None,
                 root: str | Path | None = None, timeout_s: float | None = None) -> None:
        self.rubric = load_rubric(rubric)
        self.threshold = self.rubric.pass_level if threshold is None else threshold
        if self.threshold is None:
            raise ConfigError(f"judge_scorer({self.rubric.key!r}) needs a threshold: the "
                              "rubric names no default pass level")
        self._threshold_index = self.rubric.level_index(self.threshold) if \
            self.rubric.kind == "label" else None
        self.reference_from = reference_from
        self.context_from_tools = context_from_tools
        self.question_from = question_from
        self.n = n
        self.temperature = temperature
        self.model = model
        self.rules = rules
        self.root = root
        self.timeout_s = timeout_s
        self.__name__ = name or f"judge:{self.rubric.key}"
        self.__qualname__ = self.__name__
        self._entries: dict[str, concurrent.futures.Future[Judgement]] = {}
        self._lock = threading.Lock()
        self._settings: Any = None
        self._calibration: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return (f"judge_scorer({self.rubric.key!r}, threshold={self.threshold!r}, n={self.n}, "
                f"prepared={len(self._entries)})")

    # -- inputs -----------------------------------------------------------------------
    def inputs(self, run: AgentRun, case: Case) -> dict[str, Any]:
        """What the judge reads for this run: question, answer, reference, context, rules."""
        question = _pick(case, self.question_from)
        if not question:
            raise ScorerError(f"{self.__name__}: case {case.ref} has no question at "
                              f"{self.question_from!r}", scorer=self.__name__,
                              case_ref=case.ref)
        reference = _pick(case, self.reference_from)
        if self.rubric.reference == "required" and not reference:
            raise ScorerError(f"{self.__name__}: rubric {self.rubric.key} needs a reference "
                              f"answer but case {case.ref} has none at "
                              f"{self.reference_from!r}", scorer=self.__name__,
                              case_ref=case.ref)
        context = format_tool_context(run.tool_calls) if self.context_from_tools else None
        return {"question": str(question), "answer": run.answer or "",
                "reference": str(reference) if reference else None,
                "context": context or None, "rules": self.rules}

    def _model(self, settings: Any) -> str:
        return self.model or judge_model(settings)

    def _key(self, inputs: Mapping[str, Any], model: str) -> str:
        material = json.dumps({"inputs": inputs, "model": model, "rubric": self.rubric.key,
                               "n": self.n, "temperature": self.temperature},
                              sort_keys=True, default=str)
        return hashlib.sha256(material.encode()).hexdigest()

    def _claim(self, key: str) -> tuple[concurrent.futures.Future[Judgement], bool]:
        with self._lock:
            fut = self._entries.get(key)
            if fut is not None:
                return fut, False
            fut = self._entries[key] = concurrent.futures.Future()
            return fut, True

    async def _judge(self, inputs: Mapping[str, Any], *, client: Any, model: str,
                     trial: int) -> Judgement:
        return await judge(self.rubric, client=client, model=model, n=self.n, trial=trial,
                           temperature=self.temperature, **inputs)

    # -- the scorer protocol ------------------------------------------------------------
    async def aprepare(self, run: AgentRun, case: Case, *, client: Any,
                       trial: int = 0) -> Judgement | None:
        """Judge ``run`` now (on the caller's loop) and keep the verdict for ``__call__``.
        Identical inputs are judged once."""
        self._settings = client.settings
        if _not_judged(run):
            return None
        try:
            inputs = self.inputs(run, case)
        except ScorerError:
            return None  # __call__ raises it where the case can report it
        model = self._model(client.settings)
        fut, owner = self._claim(self._key(inputs, model))
        if not owner:
            return await asyncio.wrap_future(fut)
        try:
            result = await self._judge(inputs, client=client, model=model, trial=trial)
        except BaseException as exc:  # delivered to __call__, which makes the case an error
            fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return None
        fut.set_result(result)
        return result

    def __call__(self, run: AgentRun, case: Case) -> Score:
        if _not_judged(run):
            return Score(self.__name__, 0.0, False,
                         f"not judged: the agent run ended with status {run.status!s}",
                         details={"rubric": self.rubric.key, "judged": False})
        inputs = self.inputs(run, case)
        judgement = self._obtain(inputs, case)
        if not judgement.ok:
            raise ScorerError(
                f"{self.__name__}: the judge ({judgement.model}) gave no valid verdict for case "
                f"{case.ref}: {judgement.error}; raw output: {judgement.raw!r}",
                scorer=self.__name__, case_ref=case.ref)
        return self.score_from(judgement)

    def score_from(self, judgement: Judgement) -> Score:
        """The Score a Judgement makes under this scorer's threshold."""
        rubric = self.rubric
        if rubric.kind == "score":
            passed = (judgement.score or 0.0) >= float(self.threshold)
            shown = f"{judgement.score:g}/{rubric.levels[-1]}"
        else:
            passed = rubric.level_index(judgement.label) >= (self._threshold_index or 0)
            shown = str(judgement.label)
        explanation = f"{shown}: {judgement.rationale}".strip()
        if judgement.flagged:
            explanation += f" [judge samples disagree: {list(judgement.samples)}]"
        calib = self.calibration_summary(judgement.model)
        mode = self._untrusted_mode()
        gates = judge_gates(calib, mode)
        if not gates:
            # shown, never deciding: the case's outcome and the gate ignore this score
            explanation = (f"[informational: untrusted judge, {trust_note(calib)}; "
                           f"untrusted_judge = {mode}] {explanation}")
        return Score(self.__name__, float(judgement.value or 0.0), bool(passed), explanation,
                     details={"rationale": judgement.rationale, "score": judgement.verdict,
                              "samples": list(judgement.samples), "spread": judgement.spread,
                              "flagged": judgement.flagged,
                              "judge_cost_usd": judgement.usage.cost_usd,
                              "judge_tokens": judgement.usage.total_tokens,
                              "judge_model": judgement.model, "rubric": rubric.key,
                              "threshold": self.threshold, "trusted": calib.get("trusted"),
                              "calibration": calib.get("status"), "untrusted_judge": mode,
                              ADVISORY: not gates})

    def _untrusted_mode(self) -> str:
        """The ``untrusted_judge`` setting of the session (or of the project outside one)."""
        from passline.runner import current_runner

        runner = current_runner()
        settings = runner.settings if runner is not None else (self._settings or _settings())
        return str(getattr(settings, "untrusted_judge", "inform"))

    def _obtain(self, inputs: Mapping[str, Any], case: Case) -> Judgement:
        from passline.runner import current_runner

        runner = current_runner()
        settings = runner.settings if runner is not None else (self._settings or _settings())
        model = self._model(settings)
        fut, owner = self._claim(self._key(inputs, model))
        if owner:
            try:
                if runner is not None:
                    result = runner.run_sync(self._judge(inputs, client=runner.client,
                                                         model=model, trial=0))
                else:
                    result = _run_standalone(self._standalone(inputs, settings, model))
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
        try:
            return fut.result(timeout=self.timeout_s)
        except PasslineError as exc:
            raise ScorerError(f"{self.__name__}: judging case {case.ref} failed: {exc}",
                              scorer=self.__name__, case_ref=case.ref) from exc

    async def _standalone(self, inputs: Mapping[str, Any], settings: Any,
                          model: str) -> Judgement:
        from passline.models import ModelClient

        client = ModelClient(settings)
        try:
            return await self._judge(inputs, client=client, model=model, trial=0)
        finally:
            await client.aclose()

    def calibration_summary(self, model: str | None = None) -> dict[str, Any]:
        """The stored calibration of this rubric for the judge model (status "uncalibrated"
        when it was never calibrated); read into the run manifest under "judges"."""
        if model is None:
            from passline.runner import current_runner

            runner = current_runner()
            settings = runner.settings if runner is not None else (
                self._settings or _settings())
            model = self._model(settings)
        if model not in self._calibration:
            try:
                data = load_calibration(self.rubric.key, model, self.root)
                self._calibration[model] = summary(data, self.rubric.key, model)
            except RecordError as exc:
                self._calibration[model] = {"rubric": self.rubric.key, "model": model,
                                            "status": "unreadable", "trusted": None,
                                            "error": str(exc)}
        out = dict(self._calibration[model])
        mode = self._untrusted_mode()
        # what its scores may decide, so manifests and reports can say it next to them
        out.update(untrusted_judge=mode, gates=judge_gates(out, mode))
        return out


def judge_scorer(rubric: str | Rubric = "answer-quality@1", *, threshold: Any = None,
                 reference_from: Source = "expected.answer", context_from_tools: bool = True,
                 n: int = 1, question_from: Source = "input.message",
                 temperature: float | None = None, model: str | None = None,
                 rules: str | None = None, name: str | None = None,
                 root: str | Path | None = None) -> JudgeScorer:
    """A scorer that asks an LLM judge to grade the run's final answer by ``rubric``.

    ``threshold``: the score (or label) needed to pass (default: the rubric's pass level).
    ``reference_from``: where the reference answer is (``"expected.answer"``, another dotted
    path, a callable ``case -> str``, or None for reference-free judging).
    ``context_from_tools``: show the judge the run's tool calls and results. ``n > 1``:
    self-consistency over n samples. The judge model is ``judge_model`` from the settings
    (else ``model``), independent of the variant under test.

    >>> @passline.eval("journeys-e2e@v1",
    ...                scorers=[judge_scorer("answer-quality@1", threshold=3)])  # doctest: +SKIP
    ... def test_answer_quality(run, case): ...
    """
    return JudgeScorer(rubric, threshold=threshold, reference_from=reference_from,
                       context_from_tools=context_from_tools, question_from=question_from,
                       n=n, temperature=temperature, model=model, rules=rules, name=name,
                       root=root)


def format_tool_context(tool_calls: Sequence[ToolCall], *,
                        max_chars: int = MAX_CONTEXT_CHARS) -> str:
    """The run's tool calls and results as JSON lines (the evidence an answer must rest on)."""
    lines = []
    for call in tool_calls:
        entry: dict[str, Any] = {"tool": call.name, "arguments": dict(call.arguments)}
        if call.error:
            entry["error"] = call.error
        else:
            entry["result"] = call.result
        lines.append(json.dumps(entry, ensure_ascii=False, default=str))
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n... (tool results cut)"
    return text


def _pick(case: Case, source: Source) -> Any:
    if source is None:
        return None
    if callable(source):
        return source(case)
    head, _, rest = str(source).partition(".")
    node: Any = {"input": case.input, "expected": case.expected,
                 "metadata": case.metadata}.get(head)
    if node is None:
        raise ConfigError(f"source {source!r} must start with input., expected. or metadata.")
    for part in rest.split(".") if rest else ():
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, list | tuple):
        return "; ".join(str(x) for x in node) or None
    return node


def _not_judged(run: AgentRun) -> bool:
    return str(run.status) in (RunStatus.ERROR, RunStatus.TIMEOUT)


def _settings() -> Any:
    from passline.settings import Settings

    return Settings.resolve()


def _run_standalone(coro: Any) -> Any:
    """``asyncio.run`` -- in a helper thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
