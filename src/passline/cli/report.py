"""``passline report BASELINE CANDIDATE``: write the HTML report, summary.md and junit.xml."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from passline.cli._output import add_output_flags, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the side-by-side HTML report, summary.md and junit.xml for two runs",
        description="Compare CANDIDATE against BASELINE and write index.html (open it from "
        "disk), summary.md (for a pull-request comment) and junit.xml (for CI test views). "
        "BASELINE is a run directory, a baseline file or the NAME of a saved baseline. "
        "Exits 0 whatever the verdict (`passline gate` is the gate), or 3 when a run is "
        "incomplete (see --allow-partial).",
        **examples("passline report main reports/runs/RUN_ID --out reports/pr",
                   "passline report reports/baselines/main.json reports/runs/RUN_ID "
                   "--report-url https://ci.example/artifacts/42"),
    )
    p.add_argument("baseline", metavar="BASELINE")
    p.add_argument("candidate", metavar="CANDIDATE", help="run directory")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default reports/<candidate run id>-vs-<baseline "
                   "run id>/)")
    p.add_argument("--title", default=None, help="report title (default: the variant names)")
    p.add_argument("--run-dir", "--history", dest="history", default=None, metavar="DIR",
                   help="runs to draw the pass-rate trend from (default: the candidate's "
                   "parent folder)")
    p.add_argument("--report-url", default=None, metavar="URL",
                   help="where readers of summary.md find the full report, e.g. the CI "
                   "artifact or a Pages URL (default: env PASSLINE_REPORT_URL, else the local "
                   "path of index.html)")
    add_output_flags(p)
    p.add_argument("--baselines-dir", default="reports/baselines",
                   help="where named baselines live (default reports/baselines)")
    from passline.cli.gate import add_evidence_options

    add_evidence_options(p)
    p.set_defaults(func=run)


def _slug(text: str) -> str:
    """A run id made safe as one path component."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "run"


def default_out_dir(baseline: str, candidate: str) -> Path:
    """reports/<candidate run id>-vs-<baseline run id> (ids from manifests when readable)."""
    def run_id(source: str) -> str:
        path = Path(source)
        if path.is_dir():
            from passline.compare import read_manifest
            from passline.errors import RecordError

            try:
                return str(read_manifest(path).get("run_id") or path.name)
            except RecordError:
                return path.name
        return path.stem

    from passline._paths import inside

    return inside("reports", f"{_slug(run_id(candidate))}-vs-{_slug(run_id(baseline))}")


def run(args: argparse.Namespace) -> int:
    from passline.cli.gate import decide, refusal, resolve_source
    from passline.compare import load_policy
    from passline.errors import ExitCode
    from passline.report import build_report
    from passline.report._helper import load_sides

    baseline = resolve_source(args.baseline, args.baselines_dir)
    candidate = resolve_source(args.candidate, args.baselines_dir)
    # errored runs are shown (the report's "errors" filter); incomplete records are refused
    why = refusal([("baseline", baseline), ("candidate", candidate)],
                  allow_errors=True, allow_partial=args.allow_partial)
    if why:
        print(f"passline report: NOT RUN -- {why}")
        return int(ExitCode.INFRASTRUCTURE_ERROR)
    out = Path(args.out) if args.out else default_out_dir(baseline, candidate)
    report_url = args.report_url or os.environ.get("PASSLINE_REPORT_URL") or None
    if args.confirm:
        sides = load_sides(baseline, candidate)  # read once: compared, then shown
        comparison, verdict = decide(
            baseline, candidate, load_policy(), confirm=True,
            say=None if args.json else (lambda line: print(f"passline report: {line}")),
            sides=sides)
        paths = build_report(*sides, out, title=args.title,
                             history_root=args.history, report_url=report_url,
                             comparison=comparison, verdict=verdict)
    else:  # build_report compares as decide() would, reading each run once, not twice
        paths = build_report(baseline, candidate, out, title=args.title,
                             history_root=args.history, report_url=report_url)
        verdict = paths.verdict
        assert verdict is not None
    if args.json:
        print(json.dumps({"index_html": str(paths.index_html),
                          "summary_md": str(paths.summary_md), "junit_xml": str(paths.junit_xml),
                          "verdict": verdict.to_dict()}, indent=2))
        return 0
    print(f"index.html: {paths.index_html}")
    print(f"summary.md: {paths.summary_md}")
    print(f"junit.xml:  {paths.junit_xml}")
    first = verdict.reasons[0] if verdict.reasons else ""
    print(f"verdict: {verdict.status.upper()}" + (f" ({first})" if first else ""))
    return 0
