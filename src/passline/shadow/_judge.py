"""The per-case verdict of a shadow run: production's answer against the candidate's.

A pairwise judge compares the two answers in both orders (a verdict that flips with the order
is a tie); the tool-call trajectories are compared step by step. The verdict becomes each
side's row: the side the judge prefers passes and scores 1, the other fails and scores 0, a
tie passes both with 0.5 -- so the paired statistics of ``passline.compare`` (McNemar on
pass/fail is then a sign test of wins against losses) and the gate apply unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from passline._types import AgentRun, Score, ToolCall
from passline.judge import PairwiseResult, format_tool_context, pairwise
from passline.traffic import TrafficRecord

# pairwise(answer_a=production, answer_b=candidate): the judge's "A"/"B" named for a reader
SIDES = {"A": "production", "B": "candidate", "tie": "tie"}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the judge and the trajectory comparison said about one candidate trial."""

    winner: str  # "production" | "candidate" | "tie" | "error"
    flipped: bool = False
    rationale: str = ""
    error: str | None = None
    judge_cost_usd: float = 0.0
    judge_tokens: int = 0
    trajectory_same: bool = True
    trajectory_note: str = ""

    def candidate_value(self) -> float:
        return {"candidate": 1.0, "tie": 0.5}.get(self.winner, 0.0)

    def production_value(self) -> float:
        return {"production": 1.0, "tie": 0.5}.get(self.winner, 0.0)


def _call_text(call: Mapping[str, Any] | ToolCall) -> str:
    name = call.name if isinstance(call, ToolCall) else str(call.get("name"))
    args = call.arguments if isinstance(call, ToolCall) else call.get("arguments") or {}
    shown = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in sorted(args.items())
                      if k != "idempotency_key")
    return f"{name}({shown})"


def trajectory_difference(production: Sequence[Mapping[str, Any]],
                          candidate: Sequence[ToolCall]) -> tuple[bool, str]:
    """Whether both sides made the same tool calls in the same order, and the first step
    where they part when they do not."""
    left = [_call_text(c) for c in production]
    right = [_call_text(c) for c in candidate]
    if left == right:
        return True, f"same {len(left)} tool call(s)" if left else "no tool calls on either side"
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else "(none)"
        b = right[i] if i < len(right) else "(none)"
        if a != b:
            return False, (f"step {i + 1}: production {a}, candidate {b} "
                           f"({len(left)} vs {len(right)} call(s))")
    return False, "trajectories differ"  # pragma: no cover - the loop always finds a step


def scores(verdict: Verdict, rubric: str, *, calibration: Mapping[str, Any],
           gates: bool = True, mode: str = "inform") -> list[Score]:
    """The candidate row's scores: the pairwise verdict (what the gate reads, when the judge
    may decide) and the trajectory comparison (shown, and counted in the shadow summary)."""
    from passline.judge._policy import trust_note
    from passline.scoring._base import ADVISORY

    said = {"candidate": "candidate preferred", "production": "production preferred",
            "tie": "tie" + (" (the verdict flipped with the order)" if verdict.flipped else ""),
            "error": "not judged"}[verdict.winner]
    explanation = f"{said}: {verdict.rationale or verdict.error or ''}".strip().rstrip(":")
    if not gates:  # the untrusted-judge policy: shown, never deciding
        explanation = (f"[informational: untrusted judge, {trust_note(calibration)}; "
                       f"untrusted_judge = {mode}] {explanation}")
    pair = Score(f"pairwise:{rubric}", verdict.candidate_value(),
                 verdict.winner in ("candidate", "tie"), explanation,
                 details={"winner": verdict.winner, "flipped": verdict.flipped,
                          "rationale": verdict.rationale, "judge_cost_usd":
                          verdict.judge_cost_usd, "judge_tokens": verdict.judge_tokens,
                          "rubric": rubric, "trusted": calibration.get("trusted"),
                          "calibration": calibration.get("status"), "untrusted_judge": mode,
                          ADVISORY: not gates})
    path = Score("trajectory_vs_production", 1.0 if verdict.trajectory_same else 0.0,
                 verdict.trajectory_same, verdict.trajectory_note,
                 details={"informational": True, ADVISORY: True})
    return [pair, path]


async def judge_pair(record: TrafficRecord, run: AgentRun, *, rubric: str, client: Any,
                     model: str | None, trial: int) -> Verdict:
    """Judge one candidate trial against production (both orders, concurrently)."""
    same, note = trajectory_difference(record.tool_calls, run.tool_calls)
    if str(run.status) in ("error", "timeout"):
        return Verdict("production", rationale=f"the candidate run ended with status "
                       f"{run.status}: {run.error}", trajectory_same=same, trajectory_note=note)
    evidence = [format_tool_context([ToolCall.from_dict({"name": t.get("name") or "?", **t})
                                     for t in record.tool_calls]),
                format_tool_context(run.tool_calls)]
    context = "\n".join(dict.fromkeys(line for text in evidence for line in text.splitlines()
                                      if line))
    question = record.message or json.dumps(dict(record.input), default=str)
    try:
        result: PairwiseResult = await pairwise(
            rubric, question=question, answer_a=record.answer, answer_b=run.answer,
            context=context or None, client=client, model=model, trial=trial)
    except Exception as exc:  # a judge outage is this case's error, not the run's
        return Verdict("error", error=f"{type(exc).__name__}: {exc}", trajectory_same=same,
                       trajectory_note=note)
    if not result.ok:
        return Verdict("error", error=result.error, judge_cost_usd=result.usage.cost_usd,
                       judge_tokens=result.usage.total_tokens, trajectory_same=same,
                       trajectory_note=note)
    winner = SIDES[result.winner or "tie"]
    # the judge names positions; say which answer sat where in the order quoted
    if result.first == result.winner or not result.rationale_second:
        rationale = f"[A = production, B = candidate] {result.rationale_first}"
    else:
        rationale = f"[A = candidate, B = production] {result.rationale_second}"
    return Verdict(winner, flipped=result.flipped, rationale=rationale,
                   judge_cost_usd=result.usage.cost_usd, judge_tokens=result.usage.total_tokens,
                   trajectory_same=same, trajectory_note=note)
