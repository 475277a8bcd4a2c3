"""LLM-as-judge eval: the journeys' final answers, graded by the answer-quality@1 rubric.

The judge sees the question, the answer, the run's tool calls and results (the evidence the
answer must rest on) and, as the reference, the facts the journey expects, joined into one
line. Its calibration against judge-calibration@v2 (``passline judge calibrate
answer-quality@1``) is recorded in the run manifest under "judges" and shown next to its
scores; while it is untrusted, its scores are informational (``untrusted_judge``, see
docs/judges.md) and do not fail cases or the gate.
"""

from __future__ import annotations

import passline
from passline import AgentRun, Case
from passline.judge import judge_scorer


def facts_reference(case: Case) -> str | None:
    """The journey's expected facts as a reference answer ("ORD-10142; delivered; 30.")."""
    facts = [str(f) for f in case.expected.get("facts") or () if str(f).strip()]
    return "; ".join(facts) + "." if facts else None


ANSWER_QUALITY = judge_scorer("answer-quality@1", threshold=4,
                              reference_from=facts_reference, context_from_tools=True)


@passline.eval("journeys-e2e@v2", scorers=[ANSWER_QUALITY])
def test_answer_quality(run: AgentRun, case: Case) -> None:
    """Each journey's final answer is correct and grounded (4/5 or better) by the judge."""
