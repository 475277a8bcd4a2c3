"""junit.xml: one <testcase> per (eval, case) of the candidate, for CI test views.

A case fails when it fails in the candidate (majority of trials) or regressed against the
baseline; the message says why. The gate's verdict travels as <properties>.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from passline.compare import Comparison, Verdict
from passline.compare import _words as words
from passline.report._format import visible_controls
from passline.report._sides import ReportSide, trials_of
from passline.report._view import case_reason

# characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/F)
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any, limit: int = 2000) -> str:
    text = str(value if value is not None else "")
    if not (text.isascii() and text.isprintable()):  # printable ASCII: nothing to replace
        text = visible_controls(_INVALID_XML.sub("\ufffd", text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trials(outcomes: tuple[str, ...]) -> str:
    return f"{sum(o == 'pass' for o in outcomes)}/{len(outcomes)} trials passed"


def _attrs(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f' {name}="{_attr(value)}"' for name, value in pairs)


def _attr(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    for char, entity in _ATTR_ENTITIES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _cdata(text: str) -> str:
    """Element text escaped as ElementTree escapes it."""
    for char, entity in _ATTR_ENTITIES[:3]:
        if char in text:
            text = text.replace(char, entity)
    return text


_ATTR_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                  ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def render_junit(*, comparison: Comparison, verdict: Verdict, cand: ReportSide,
                 title: str) -> bytes:
    """The XML document (UTF-8 bytes with declaration): what ElementTree writes for the
    same tree indented by one space (``ET.indent(root, space=" ")``), byte for byte,
    written directly -- ElementTree's serialiser took seconds on 100,000 test cases."""
    regressions = {c.key: c for c in comparison.regressions}
    by_eval: dict[str, list[Any]] = {}
    for key in sorted(cand.summaries):
        by_eval.setdefault(key[0], []).append(cand.summaries[key])
    props = [("passline.verdict", verdict.status),
             ("passline.exit_code", str(int(verdict.exit_code))),
             ("passline.baseline", verdict.baseline),
             ("passline.candidate", verdict.candidate)]
    properties = "".join(
        f'\n   <property{_attrs([("name", name), ("value", xml_text(value, limit))])} />'
        for name, value, limit in [
            *((name, value, 500) for name, value in props),
            *((f"passline.gate.{check.name}", f"{check.status}: {check.message}", 1000)
              for check in verdict.checks),
            # the same words as the report and the verdict
            *((f"passline.metric.{m.name}", words.metric_reading(m, alpha=comparison.alpha),
               500) for m in comparison.metrics)])
    suites: list[str] = []
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for eval_id, summaries in by_eval.items():
        cases: list[str] = []
        n = failures = errors = 0
        suite_time = 0.0
        classnames: dict[str, str] = {}  # one dataset or a few
        for s in summaries:
            n += 1
            suite_time += s.latency_s
            classname = classnames.get(s.dataset)
            if classname is None:
                classname = classnames[s.dataset] = xml_text(s.dataset or "passline")
            head = _attrs([("classname", classname),
                           ("name", xml_text(s.case_id, 500)), ("time", f"{s.latency_s:.3f}")])
            change = regressions.get(s.key)
            if change is None and s.passed and s.n_errors < s.n_trials:
                cases.append(f"\n  <testcase{head} />")  # a passing case states no reason
                continue
            reason = case_reason(trials_of(cand, s.key), 1000)
            if change is not None:
                failures += 1
                message = (f"regressed: {_trials(change.baseline_outcomes)} in the baseline, "
                           f"{_trials(change.candidate_outcomes)} in the candidate; score "
                           f"{change.baseline_score:.3f} -> {change.candidate_score:.3f}"
                           + (f"; {reason}" if reason else ""))
                tag, kind = "failure", "regression"
            elif s.n_errors == s.n_trials:
                errors += 1
                message = reason or f"all {s.n_trials} trial(s) errored"
                tag, kind = "error", "error"
            else:  # fails in the candidate
                failures += 1
                message = (f"fails: {_trials(s.outcomes)}, mean score {s.score:.3f}"
                           + (f"; {reason}" if reason else ""))
                tag, kind = "failure", "fail"
            text = xml_text(message, 4000)
            element = (f"<{tag}{_attrs([('message', xml_text(message)), ('type', kind)])}"
                       + (f">{_cdata(text)}</{tag}>" if text else " />"))
            cases.append(f"\n  <testcase{head}>\n   {element}\n  </testcase>")
        suite_head = _attrs([("name", xml_text(eval_id, 500)), ("tests", str(n)),
                             ("failures", str(failures)), ("errors", str(errors)),
                             ("skipped", "0"), ("time", f"{suite_time:.3f}")])
        suites.append(f"\n <testsuite{suite_head}>\n  <properties>{properties}\n  </properties>"
                      + "".join(cases) + "\n </testsuite>")
        totals["tests"] += n
        totals["failures"] += failures
        totals["errors"] += errors
        total_time += suite_time
    root = _attrs([("name", xml_text(title, 300)),
                   *((k, str(v)) for k, v in totals.items()), ("time", f"{total_time:.3f}")])
    body = (f"<testsuites{root}>" + "".join(suites) + "\n</testsuites>" if suites
            else f"<testsuites{root} />")
    return ("<?xml version='1.0' encoding='utf-8'?>\n" + body + "\n").encode("utf-8")
