"""Calibration: how far a judge can be trusted, measured against a calibration set's labels.

``calibrate`` runs a rubric's judge on every item of a calibration dataset (concurrently),
compares its verdicts with the labels (accuracy, within-one, Cohen's kappa and
quadratic-weighted kappa with bootstrap intervals, confusion matrix), measures position bias
(pairwise with swapped positions on pairs of answers to the same question) and verbosity
bias (each answer judged again padded with content-free filler), and stores the result
atomically in
``.passline/judges/<rubric>@<v>__<model>.json``. A judge whose kappa is below
``judge_min_kappa`` (or that fails on more than 5% of items) is marked untrusted.

A calibration row is a golden row: ``input.message`` is the question; ``expected`` holds
``x_answer`` (the answer judged), ``answer`` (optional reference), ``x_context`` (optional),
the labels (``x_score``, ``x_groundedness``: each rubric names its field), ``x_label_reason``
(``x_rationale`` in older sets) and ``x_label_source`` (who or what made the labels; the report
says how many labels are human, reference or of unrecorded provenance); ``metadata.group``
ties answers to the same question together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_json
from passline._types import Case, Usage
from passline.errors import ConfigError, ModelError, RecordError
from passline.golden._labels import LABEL_SOURCE_KEY, label_source_summary
from passline.judge._agreement import agreement
from passline.judge._judge import Judgement, judge, judge_model
from passline.judge._pairwise import PairwiseResult, pairwise, position_bias_rate
from passline.judge._rubric import Rubric, load_rubric

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_DATASET = "judge-calibration@v2"
JUDGES_DIR = Path(".passline") / "judges"
MAX_ERROR_RATE = 0.05
#: content-free padding for the verbosity check: no ids, numbers or domain words, so a fair
#: judge scores the padded answer the same as (or, for concision, below) the original
FILLER = ("Thank you for reaching out to us today. We truly appreciate your patience while we "
          "looked into this for you. I hope this information is helpful, and please do not "
          "hesitate to get in touch again if anything else comes up. Our team is always glad "
          "to assist, and we look forward to hearing from you again soon. Have a wonderful "
          "rest of your day.")


@dataclasses.dataclass(frozen=True)
class CalibrationItem:
    """One labelled answer (``human`` is the label, whoever made it: see ``label_source``)."""

    id: str
    question: str
    answer: str
    human: Any
    reference: str | None = None
    context: str | None = None
    rationale: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    label_source: Mapping[str, Any] | None = None

    @classmethod
    def from_case(cls, case: Case, field: str) -> CalibrationItem:
        exp = case.expected
        if "x_answer" not in exp:
            raise ConfigError(f"calibration case {case.ref} has no expected.x_answer (the "
                              "answer the judge grades); see docs/judges.md")
        if field not in exp:
            raise ConfigError(f"calibration case {case.ref} has no label expected.{field}; "
                              "label every item for this rubric")
        context = exp.get("x_context")
        if context is not None and not isinstance(context, str):
            context = json.dumps(context, ensure_ascii=False)
        return cls(id=case.id, question=str(case.input["message"]), answer=str(exp["x_answer"]),
                   human=exp[field], reference=exp.get("answer"), context=context,
                   rationale=str(exp.get("x_label_reason", exp.get("x_rationale", ""))),
                   group=str(case.metadata.get("group", "")), tags=tuple(case.tags),
                   label_source=exp.get(LABEL_SOURCE_KEY))


@dataclasses.dataclass(frozen=True)
class CalibrationReport:
    """Everything ``passline judge calibrate`` measures; :meth:`to_dict` is the stored file."""

    rubric: str
    model: str
    dataset: str
    labels: list[Any]
    agreement: dict[str, Any]
    n_items: int
    n_errors: int
    pairwise: dict[str, Any]
    verbosity: dict[str, Any]
    min_kappa: float
    trusted: bool
    usage: Usage
    items: list[dict[str, Any]]
    created: str = ""
    label_sources: dict[str, Any] = dataclasses.field(default_factory=dict)
    agreement_by_tag: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kappa(self) -> float | None:
        return self.agreement.get("kappa")

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "rubric": self.rubric, "model": self.model,
                "dataset": self.dataset, "created": self.created, "labels": self.labels,
                "n_items": self.n_items, "n_errors": self.n_errors,
                "agreement": self.agreement, "pairwise": self.pairwise,
                "verbosity": self.verbosity, "min_kappa": self.min_kappa,
                "trusted": self.trusted, "judge_usage": self.usage.to_dict(),
                "label_sources": self.label_sources,
                "agreement_by_tag": self.agreement_by_tag, "items": self.items}


def load_items(rubric: Rubric, dataset: str = DEFAULT_DATASET, *,
               root: str | Path | None = None) -> list[CalibrationItem]:
    """The calibration items of ``dataset`` labelled for ``rubric``."""
    from passline.golden import load_cases

    if not rubric.calibration_field:
        raise ConfigError(f"rubric {rubric.key} names no calibration_field in its .md front "
                          "matter, so no label can be matched to its verdicts")
    cases = load_cases(dataset, root=project_root(root))
    return [CalibrationItem.from_case(c, rubric.calibration_field) for c in cases]


async def calibrate(rubric: str | Rubric, *, client: Any, model: str | None = None,
                    dataset: str = DEFAULT_DATASET, items: Sequence[CalibrationItem] | None = None,
                    root: str | Path | None = None, rules: str | None = None,
                    min_kappa: float | None = None, pairs: bool = True,
                    verbosity: bool = True, by_tag: Sequence[str] = ()) -> CalibrationReport:
    """Judge every calibration item (concurrently) and measure agreement and biases.

    ``by_tag``: tag prefixes (e.g. ``"origin"``) to break agreement down by; each value of
    the tag gets its own accuracy and kappa (with intervals) under ``agreement_by_tag``.

    >>> report = await calibrate("answer-quality@1", client=client, model="sim-2")  # doctest: +SKIP
    >>> report.agreement["kappa"], report.trusted                                  # doctest: +SKIP
    """
    rubric = load_rubric(rubric)
    model = model or judge_model(client.settings)
    items = list(items) if items is not None else load_items(rubric, dataset, root=root)
    if not items:
        raise ConfigError(f"calibration set {dataset} has no items for {rubric.key}")
    for item in items:
        rubric.level_index(item.human)  # a label outside the rubric's levels: fail now
    min_kappa = client.settings.judge_min_kappa if min_kappa is None else min_kappa

    async def one(item: CalibrationItem, answer: str) -> Judgement | str:
        try:
            return await judge(rubric, question=item.question, answer=answer,
                               reference=item.reference, context=item.context, rules=rules,
                               client=client, model=model)
        except ModelError as exc:  # one item's transport failure is that item's error
            return f"{type(exc).__name__}: {exc}"

    plain_tasks = [one(item, item.answer) for item in items]
    padded_tasks = [one(item, f"{item.answer} {FILLER}") for item in items] if verbosity else []
    pair_list = derive_pairs(rubric, items) if pairs else []
    pair_tasks = [_pair(rubric, a, b, client=client, model=model, rules=rules)
                  for a, b in pair_list]
    results = await asyncio.gather(*plain_tasks, *padded_tasks, *pair_tasks)
    plain = results[:len(items)]
    padded = results[len(items):len(items) + len(padded_tasks)]
    compared = [r for r in results[len(items) + len(padded_tasks):]
                if isinstance(r, PairwiseResult | str)]

    usage = Usage()
    for r in results:
        if isinstance(r, Judgement | PairwiseResult):
            usage = usage + r.usage

    rows, human_idx, judge_idx = [], [], []
    for i, (item, j) in enumerate(zip(items, plain, strict=True)):
        row: dict[str, Any] = {"id": item.id, "tags": list(item.tags), "human": item.human}
        if isinstance(j, Judgement) and j.ok:
            verdict = j.label if rubric.kind == "label" else round(j.score or 0)
            row.update(judge=verdict, rationale=j.rationale)
            human_idx.append(rubric.level_index(item.human))
            judge_idx.append(rubric.level_index(verdict))
        else:
            row.update(judge=None, error=j.error if isinstance(j, Judgement) else j,
                       raw=j.raw if isinstance(j, Judgement) else None)
        if padded:
            p = padded[i]
            row["padded"] = (p.verdict if isinstance(p, Judgement) and p.ok else None)
        rows.append(row)
    agree = agreement(human_idx, judge_idx, list(rubric.levels)).to_dict()
    n_errors = len(items) - len(human_idx)
    kappa = agree.get("kappa")
    trusted = (kappa is not None and kappa >= min_kappa
               and n_errors <= MAX_ERROR_RATE * len(items))
    return CalibrationReport(
        rubric=rubric.key, model=model, dataset=dataset, labels=list(rubric.levels),
        agreement=agree, n_items=len(items), n_errors=n_errors,
        pairwise=_pairwise_summary(rubric, pair_list, compared),
        verbosity=_verbosity_summary(rubric, plain, padded), min_kappa=min_kappa,
        trusted=bool(trusted), usage=usage, items=rows,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        label_sources=label_source_summary([item.label_source for item in items]),
        agreement_by_tag=_by_tag(rubric, rows, by_tag))


def _by_tag(rubric: Rubric, rows: Sequence[Mapping[str, Any]], prefixes: Sequence[str]
            ) -> dict[str, Any]:
    """Agreement per value of each tag prefix (``origin:v1``, ``origin:v2`` ...)."""
    out: dict[str, Any] = {}
    for prefix in prefixes:
        head = prefix.rstrip(":") + ":"
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            for tag in row["tags"]:
                if tag.startswith(head):
                    groups.setdefault(tag, []).append(row)
        for tag in sorted(groups):
            judged = [r for r in groups[tag] if r.get("judge") is not None]
            out[tag] = agreement([rubric.level_index(r["human"]) for r in judged],
                                 [rubric.level_index(r["judge"]) for r in judged],
                                 list(rubric.levels)).to_dict()
    return out


def derive_pairs(rubric: Rubric, items: Sequence[CalibrationItem]
                 ) -> list[tuple[CalibrationItem, CalibrationItem]]:
    """Pairs of answers to the same question (``metadata.group``) that the labels rank
    differently: the group's best answer against each worse one. The better answer sits in
    position A for every other pair, so neither position is favoured by construction."""
    groups: dict[str, list[CalibrationItem]] = {}
    for item in items:
        if item.group:
            groups.setdefault(item.group, []).append(item)
    out: list[tuple[CalibrationItem, CalibrationItem]] = []
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda it: -rubric.level_index(it.human))
        best = members[0]
        for other in members[1:]:
            if rubric.level_index(other.human) < rubric.level_index(best.human):
                pair = (best, other) if len(out) % 2 == 0 else (other, best)
                out.append(pair)
    return out


async def _pair(rubric: Rubric, a: CalibrationItem, b: CalibrationItem, *, client: Any,
                model: str, rules: str | None) -> PairwiseResult | str:
    try:
        return await pairwise(rubric, question=a.question, answer_a=a.answer, answer_b=b.answer,
                              reference=a.reference, context=a.context or b.context,
                              rules=rules, client=client, model=model)
    except ModelError as exc:
        return f"{type(exc).__name__}: {exc}"


def _pairwise_summary(rubric: Rubric, pairs: Sequence[tuple[CalibrationItem, CalibrationItem]],
                      results: Sequence[PairwiseResult | str]) -> dict[str, Any]:
    done = [(p, r) for p, r in zip(pairs, results, strict=True)
            if isinstance(r, PairwiseResult) and r.ok]
    if not pairs:
        return {"n": 0}
    # the preferred answer is whichever of the pair has the higher label
    correct = 0
    for (a, b), r in done:
        preferred = "A" if rubric.level_index(a.human) > rubric.level_index(b.human) else "B"
        correct += r.winner == preferred
    first_position = [r.positions_chosen for _, r in done]
    return {"n": len(pairs), "errors": len(pairs) - len(done),
            "position_bias_rate": _num(position_bias_rate(r for _, r in done)),
            "agreement_with_human": _num(correct / len(done)) if done else None,
            "ties": sum(r.winner == "tie" for _, r in done),
            "flips": sum(r.flipped for _, r in done),
            "first_position_share": _num(
                sum(c == "A" for pair in first_position for c in pair)
                / max(1, sum(c in ("A", "B") for pair in first_position for c in pair)))}


def _verbosity_summary(rubric: Rubric, plain: Sequence[Any], padded: Sequence[Any]
                       ) -> dict[str, Any]:
    if not padded:
        return {"n": 0}
    deltas = []
    for p, q in zip(plain, padded, strict=True):
        if isinstance(p, Judgement) and p.ok and isinstance(q, Judgement) and q.ok:
            deltas.append(rubric.level_index(q.verdict) - rubric.level_index(p.verdict))
    if not deltas:
        return {"n": 0}
    return {"n": len(deltas), "mean_increase": sum(deltas) / len(deltas),
            "share_increased": sum(d > 0 for d in deltas) / len(deltas),
            "share_decreased": sum(d < 0 for d in deltas) / len(deltas),
            "unit": "levels" if rubric.kind == "label" else "points"}


def _num(x: float | None) -> float | None:
    return None if x is None or x != x else x


# ------------------------------------------------------------------ storage


def project_root(root: str | Path | None = None) -> Path:
    """``root``, else the nearest directory (from the cwd up) holding pyproject.toml."""
    if root is not None:
        return Path(root)
    from passline.settings import find_pyproject

    found = find_pyproject(Path.cwd())
    return found.parent if found else Path.cwd()


def calibration_path(rubric: str, model: str, root: str | Path | None = None) -> Path:
    """``<root>/.passline/judges/<rubric>@<v>__<model>.json`` (unsafe characters -> ``_``)."""
    safe_model = re.sub(r"[^A-Za-z0-9._-]", "_", model)
    return project_root(root) / JUDGES_DIR / f"{rubric}__{safe_model}.json"


def save_calibration(report: CalibrationReport | Mapping[str, Any],
                     root: str | Path | None = None) -> Path:
    """Write a calibration atomically (temporary file + rename); returns its path."""
    data = report.to_dict() if isinstance(report, CalibrationReport) else dict(report)
    path = calibration_path(data["rubric"], data["model"], root)
    return atomic_write_json(path, data, indent=1)


def load_calibration(rubric: str, model: str,
                     root: str | Path | None = None) -> dict[str, Any] | None:
    """The stored calibration of ``rubric`` judged by ``model`` (None if never calibrated)."""
    path = calibration_path(rubric, model, root)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: unreadable calibration ({exc}); delete it and run "
                          f"`passline judge calibrate {rubric} --model {model}` again") from exc
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(f"{path}: calibration schema_version {version!r} is not "
                          f"{SCHEMA_VERSION}; re-run `passline judge calibrate {rubric} "
                          f"--model {model}` with this passline version")
    return data


def summary(data: Mapping[str, Any] | None, rubric: str, model: str) -> dict[str, Any]:
    """The compact form shown in run manifests and reports next to a judge's scores."""
    if not data:
        return {"rubric": rubric, "model": model, "status": "uncalibrated", "trusted": None}
    agree = data.get("agreement") or {}
    return {"rubric": rubric, "model": model, "status": "calibrated",
            "trusted": bool(data.get("trusted")), "dataset": data.get("dataset"),
            "created": data.get("created"), "n_items": data.get("n_items"),
            "n_errors": data.get("n_errors"), "accuracy": agree.get("accuracy"),
            "within_one": agree.get("within_one"), "kappa": agree.get("kappa"),
            "weighted_kappa": agree.get("weighted_kappa"),
            "kappa_ci": (agree.get("ci") or {}).get("kappa"),
            "weighted_kappa_ci": (agree.get("ci") or {}).get("weighted_kappa"),
            "label_kinds": (data.get("label_sources") or {}).get("kinds"),
            "min_kappa": data.get("min_kappa"),
            "position_bias_rate": (data.get("pairwise") or {}).get("position_bias_rate"),
            "verbosity_mean_increase": (data.get("verbosity") or {}).get("mean_increase")}
