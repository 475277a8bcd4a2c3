"""What distinguishes sim-1 from sim-2: one frozen record of capabilities per simulated model.

Every behavioural difference between the simulated models is a field here, so the docs,
the tests and the code agree on what "more capable" means.
"""

from __future__ import annotations

from dataclasses import dataclass

from passline.errors import ConfigError


@dataclass(frozen=True)
class Profile:
    """Capabilities of one simulated model."""

    name: str
    #: tool relevance also reads parameter names/descriptions and enum values
    reads_parameters: bool
    #: "Use when ..." sentences count double; "Do not use for X" terms count against the tool
    follows_guidance: bool
    #: split the request into clauses and call one tool per clause, in parallel
    multi_intent: bool
    #: tool-calling rounds per user turn before it answers (sim-2: up to two follow-up rounds)
    max_rounds: int
    #: ids without a schema pattern are matched by the shape of the example in the description
    ids_from_examples: bool
    #: a missing required argument leads to a clarifying question instead of an empty value
    asks_clarification: bool
    #: final answers: every tool result, concise (True) / first result only, with filler (False)
    concise_answers: bool
    #: chance of obeying an instruction injected into a tool result or document
    injection_follow_rate: float
    #: reads arguments jointly (slots.py): roles, units, CLDR names, proper names, dates
    fills_slots: bool
    #: approval and domain rules of the system prompt and tools bind it whatever the user
    #: claims; pasted documents give no intents; overrides and requests for its
    #: instructions are refused (guard.py)
    reads_rules: bool
    #: overlap between a system "refuse ..." rule and the request needed to refuse
    refusal_overlap: float
    #: critique checks ids and document ids as well as numbers
    checks_ids: bool
    #: judge: a long answer within ``bias_margin`` of the next level is bumped up one level
    verbosity_bias: bool
    #: judge, pairwise: prefers answer A when the qualities are within ``bias_margin``
    position_bias: bool
    bias_margin: float


PROFILES: dict[str, Profile] = {
    "sim-1": Profile(
        name="sim-1",
        reads_parameters=False,
        follows_guidance=False,
        multi_intent=False,
        max_rounds=1,
        ids_from_examples=False,
        asks_clarification=False,
        concise_answers=False,
        injection_follow_rate=0.5,
        fills_slots=False,
        reads_rules=False,
        refusal_overlap=1.0,
        checks_ids=False,
        verbosity_bias=True,
        position_bias=True,
        bias_margin=0.15,
    ),
    "sim-2": Profile(
        name="sim-2",
        reads_parameters=True,
        follows_guidance=True,
        multi_intent=True,
        max_rounds=3,
        ids_from_examples=True,
        asks_clarification=True,
        concise_answers=True,
        injection_follow_rate=0.0,
        fills_slots=True,
        reads_rules=True,
        refusal_overlap=0.5,
        checks_ids=True,
        verbosity_bias=False,
        position_bias=False,
        bias_margin=0.05,
    ),
}


def profile_for(model: str) -> Profile:
    """The profile of ``model`` ("sim-1" or "sim-2"; a "-suffix" like "sim-2-json" is ignored)."""
    for name, profile in PROFILES.items():
        if model == name or model.startswith(name + "-"):
            return profile
    raise ConfigError(
        f"unknown simulator model {model!r}: the offline simulator serves "
        f"{', '.join(PROFILES)}; set the model to one of them (e.g. --passline-model sim-2)"
    )
