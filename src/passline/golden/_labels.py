"""Label provenance of calibration rows: who or what made a label, when and how.

A calibration row (``golden/judge-calibration``, or a user's own) may carry
``expected.x_label_source`` -- a versioned record of where its labels came from -- and
``expected.x_label_reason``, one line on why. ``passline golden validate`` checks both when
present, so a label never claims a provenance in a shape nobody can read. Rows without them
(e.g. ``judge-calibration@v1``) are still valid; the calibration report then says that their
provenance is unrecorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABEL_SOURCE_KEY = "x_label_source"
LABEL_REASON_KEY = "x_label_reason"
LABEL_SOURCE_SCHEMA_VERSION = 1
#: who made the label: a person ("human"), a documented process that is not a person
#: ("reference": e.g. an AI agent following a written protocol), or a model's verdict
#: used as a label ("model")
LABEL_KINDS = ("human", "reference", "model")
REQUIRED = ("schema_version", "kind", "labeller", "labelled_on", "protocol")
OPTIONAL = ("saw", "origin", "notes")
MAX_REASON_CHARS = 300


def check_label_fields(exp: Mapping[str, Any]) -> list[str]:
    """Problems with ``x_label_source`` / ``x_label_reason`` of one row's ``expected``."""
    out: list[str] = []
    if LABEL_REASON_KEY in exp:
        reason = exp[LABEL_REASON_KEY]
        if not isinstance(reason, str) or not reason.strip():
            out.append(f"expected.{LABEL_REASON_KEY} must be a non-empty string (one line on "
                       "why the labels are what they are)")
        elif "\n" in reason or len(reason) > MAX_REASON_CHARS:
            out.append(f"expected.{LABEL_REASON_KEY} must be one line of at most "
                       f"{MAX_REASON_CHARS} characters")
    if LABEL_SOURCE_KEY not in exp:
        if LABEL_REASON_KEY in exp:
            out.append(f"expected.{LABEL_REASON_KEY} without expected.{LABEL_SOURCE_KEY}: say "
                       "who or what made the label (docs/judges.md, 'Label provenance')")
        return out
    src = exp[LABEL_SOURCE_KEY]
    where = f"expected.{LABEL_SOURCE_KEY}"
    if not isinstance(src, Mapping):
        return [*out, f"{where} must be an object with {', '.join(REQUIRED)}"]
    missing = [k for k in REQUIRED if k not in src]
    if missing:
        out.append(f"{where} is missing {', '.join(missing)}")
    unknown = [k for k in src if k not in REQUIRED + OPTIONAL]
    if unknown:
        out.append(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                   f"{', '.join(REQUIRED + OPTIONAL)}")
    version = src.get("schema_version", LABEL_SOURCE_SCHEMA_VERSION)
    if version != LABEL_SOURCE_SCHEMA_VERSION:
        out.append(f"{where}.schema_version {version!r} is not supported (this passline reads "
                   f"{LABEL_SOURCE_SCHEMA_VERSION})")
    kind = src.get("kind")
    if "kind" in src and kind not in LABEL_KINDS:
        out.append(f"{where}.kind {kind!r} must be one of {', '.join(LABEL_KINDS)} (\"human\" "
                   "only when a person made the label)")
    for key in ("labeller", "labelled_on", "protocol"):
        if key in src and (not isinstance(src[key], str) or not src[key].strip()):
            out.append(f"{where}.{key} must be a non-empty string")
    if "saw" in src and not (isinstance(src["saw"], list)
                             and all(isinstance(s, str) and s for s in src["saw"])):
        out.append(f"{where}.saw must be a list of what the labeller saw "
                   '(e.g. ["question", "context", "answer"])')
    if LABEL_REASON_KEY not in exp:
        out.append(f"{where} is given but expected.{LABEL_REASON_KEY} is not: add one line on "
                   "why the labels are what they are")
    return out


def label_source_summary(sources: list[Mapping[str, Any] | None]) -> dict[str, Any]:
    """How a calibration set's labels were made: counts by kind ("unrecorded" when a row has
    no ``x_label_source``) and the distinct labellers."""
    kinds: dict[str, int] = {}
    labellers: list[str] = []
    for src in sources:
        kind = str(src.get("kind")) if isinstance(src, Mapping) else "unrecorded"
        kinds[kind] = kinds.get(kind, 0) + 1
        who = src.get("labeller") if isinstance(src, Mapping) else None
        if isinstance(who, str) and who not in labellers:
            labellers.append(who)
    return {"kinds": kinds, "labellers": labellers}
