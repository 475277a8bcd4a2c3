"""junit.xml: one <testcase> per (eval, case) of the candidate, for CI test views.

A case fails when it fails in the candidate (majority of trials) or regressed against the
baseline; the message says why. The gate's verdict travels as <properties>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
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
    text = visible_controls(_INVALID_XML.sub("\ufffd", text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trials(outcomes: tuple[str, ...]) -> str:
    return f"{sum(o == 'pass' for o in outcomes)}/{len(outcomes)} trials passed"


def render_junit(*, comparison: Comparison, verdict: Verdict, cand: ReportSide,
                 title: str) -> bytes:
    """The XML document (UTF-8 bytes with declaration)."""
    regressions = {c.key: c for c in comparison.regressions}
    by_eval: dict[str, list[Any]] = {}
    for key in sorted(cand.summaries):
        by_eval.setdefault(key[0], []).append(cand.summaries[key])
    root = ET.Element("testsuites", name=xml_text(title, 300))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for eval_id, summaries in by_eval.items():
        suite = ET.SubElement(root, "testsuite", name=xml_text(eval_id, 500))
        props = ET.SubElement(suite, "properties")
        for name, value in (("passline.verdict", verdict.status),
                            ("passline.exit_code", str(int(verdict.exit_code))),
                            ("passline.baseline", verdict.baseline),
                            ("passline.candidate", verdict.candidate)):
            ET.SubElement(props, "property", name=name, value=xml_text(value, 500))
        for check in verdict.checks:
            ET.SubElement(props, "property", name=f"passline.gate.{check.name}",
                          value=xml_text(f"{check.status}: {check.message}", 1000))
        for m in comparison.metrics:  # the same words as the report and the verdict
            ET.SubElement(props, "property", name=f"passline.metric.{m.name}",
                          value=xml_text(words.metric_reading(m, alpha=comparison.alpha), 500))
        n = failures = errors = 0
        suite_time = 0.0
        for s in summaries:
            n += 1
            suite_time += s.latency_s
            case = ET.SubElement(suite, "testcase", classname=xml_text(s.dataset or "passline"),
                                 name=xml_text(s.case_id, 500), time=f"{s.latency_s:.3f}")
            change = regressions.get(s.key)
            # only a failing case states its reason: 100,000 passing ones need none
            reason = ("" if change is None and s.passed and s.n_errors < s.n_trials
                      else case_reason(trials_of(cand, s.key), 1000))
            if change is not None:
                failures += 1
                message = (f"regressed: {_trials(change.baseline_outcomes)} in the baseline, "
                           f"{_trials(change.candidate_outcomes)} in the candidate; score "
                           f"{change.baseline_score:.3f} -> {change.candidate_score:.3f}"
                           + (f"; {reason}" if reason else ""))
                el = ET.SubElement(case, "failure", message=xml_text(message),
                                   type="regression")
                el.text = xml_text(message, 4000)
            elif s.n_errors == s.n_trials:
                errors += 1
                message = reason or f"all {s.n_trials} trial(s) errored"
                el = ET.SubElement(case, "error", message=xml_text(message), type="error")
                el.text = xml_text(message, 4000)
            elif not s.passed:
                failures += 1
                message = (f"fails: {_trials(s.outcomes)}, mean score {s.score:.3f}"
                           + (f"; {reason}" if reason else ""))
                el = ET.SubElement(case, "failure", message=xml_text(message), type="fail")
                el.text = xml_text(message, 4000)
        suite.set("tests", str(n))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", "0")
        suite.set("time", f"{suite_time:.3f}")
        totals["tests"] += n
        totals["failures"] += failures
        totals["errors"] += errors
        total_time += suite_time
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"

