"""passline.shadow: a candidate run on recorded production traffic, compared with production.

``shadow`` runs a candidate variant (model and/or prompts) on the inputs of recorded
conversations (:mod:`passline.traffic`) with passline's runner, judges each candidate answer
against production's in both orders, compares trajectories, cost and latency with the paired
statistics of :mod:`passline.compare`, applies the gate policy and writes the usual report
with production as the baseline side.

>>> from passline.shadow import shadow  # doctest: +SKIP
"""

from __future__ import annotations

from passline.shadow._judge import Verdict, trajectory_difference
from passline.shadow._run import REPLAY_AGENT, ShadowResult, replay, shadow

__all__ = ["REPLAY_AGENT", "ShadowResult", "Verdict", "replay", "shadow",
           "trajectory_difference"]
