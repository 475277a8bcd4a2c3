"""RAG metrics through the judge: context relevance, faithfulness (groundedness), answer
relevance -- each reported with the calibration of the judge that produced it.

The retrieved context is ``run.metadata["contexts"]`` (a list of passages or a string) when
the agent reports it, else the run's tool calls and results. The verdict's explanation ends
with the judge's calibration ("judge uncalibrated", "judge trusted, kappa 0.71", "judge NOT
trusted, kappa 0.32"), because a judged metric is only as good as its judge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from passline._types import AgentRun, Case, Score


def _rag_scorer(rubric: str, default_name: str, threshold: Any, model: str | None,
                name: str | None, root: Any) -> Any:
    from passline.judge import Judgement, JudgeScorer, format_tool_context

    class RagJudgeScorer(JudgeScorer):
        def inputs(self, run: AgentRun, case: Case) -> dict[str, Any]:
            out = super().inputs(run, case)
            contexts = run.metadata.get("contexts") if isinstance(run.metadata,
                                                                  Mapping) else None
            if isinstance(contexts, str) and contexts.strip():
                out["context"] = contexts
            elif isinstance(contexts, list) and contexts:
                out["context"] = "\n\n".join(c if isinstance(c, str) else json.dumps(
                    c, ensure_ascii=False, default=str) for c in contexts)
            else:
                out["context"] = format_tool_context(run.tool_calls) or None
            return out

        def score_from(self, judgement: Judgement) -> Score:
            import dataclasses

            score = super().score_from(judgement)
            calib = self.calibration_summary(judgement.model)
            return dataclasses.replace(score, explanation=f"{score.explanation} "
                                       f"[{calibration_note(calib)}]")

    return RagJudgeScorer(rubric, threshold=threshold, reference_from=None, model=model,
                          name=name or default_name, root=root)


def calibration_note(calib: Mapping[str, Any]) -> str:
    """How far the judge can be trusted, in a few words."""
    if calib.get("status") != "calibrated":
        return f"judge {calib.get('status') or 'uncalibrated'}: no agreement measured"
    kappa = calib.get("kappa")
    shown = f", kappa {kappa:.2f}" if isinstance(kappa, int | float) else ""
    return f"judge {'trusted' if calib.get('trusted') else 'NOT trusted'}{shown}"


def context_relevance(*, threshold: Any = None, model: str | None = None,
                      name: str | None = None, root: Any = None) -> Any:
    """Does the retrieved context hold what the question needs? (``context-relevance@1``:
    irrelevant < partially < relevant; passes at ``relevant`` unless ``threshold`` says
    otherwise.) Measures retrieval, not the answer."""
    return _rag_scorer("context-relevance@1", "context_relevance", threshold, model, name,
                       root)


def faithfulness(*, threshold: Any = None, model: str | None = None, name: str | None = None,
                 root: Any = None) -> Any:
    """Is every claim of the answer supported by the retrieved context? (``groundedness@1``:
    ungrounded < partially < grounded.)"""
    return _rag_scorer("groundedness@1", "faithfulness", threshold, model, name, root)


def answer_relevance(*, threshold: Any = None, model: str | None = None,
                     name: str | None = None, root: Any = None) -> Any:
    """Does the answer address the question asked (truth aside)? (``answer-relevance@1``.)"""
    return _rag_scorer("answer-relevance@1", "answer_relevance", threshold, model, name, root)
