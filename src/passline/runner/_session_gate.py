"""The end of an eval session that compares: each variant against the first (or against
``--passline-baseline``), with confirmation runs, a report per comparison, and the exit code.

Called from ``pytest_sessionfinish`` once the run records are final. The rules (docs/plugin.md,
"Exit codes"): the session's code is the worst verdict's -- 0 pass or improved, 1 regression,
3 when no verdict can be given (an outage, an incomplete record, must-pass cases not run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from passline.errors import ExitCode, PasslineError

if TYPE_CHECKING:
    from passline.compare import Comparison, GatePolicy, Verdict
    from passline.report._sides import ReportSide
    from passline.runner._session import EvalSession

Say = Callable[[str], None]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "baseline"


def comparison_pairs(session: EvalSession, baseline: str | None
                     ) -> list[tuple[str, str, str, str]]:
    """(baseline label, baseline source, candidate name, candidate run dir) to compare."""
    runs = {name: str(m["_path"]) for name, m in session.summaries.items()}
    names = [v.name for v in session.variants if v.name in runs]
    if baseline:
        return [(Path(baseline).stem if Path(baseline).is_file() else Path(baseline).name,
                 baseline, name, runs[name]) for name in names]
    if len(names) < 2:
        return []
    first = names[0]
    return [(first, runs[first], name, runs[name]) for name in names[1:]]


def not_run(session: EvalSession, why: str, code: ExitCode) -> int:
    session.verdict_text = f"passline gate: NOT RUN -- {why}"
    return int(code)


def gate_session(session: EvalSession, *, baseline: str | None, allow_partial: bool,
                 say: Say | None = None) -> int:
    """Compare, confirm, gate and report every pair; returns the session's exit code."""
    from passline.compare import incomplete_reason, load_policy

    pairs = comparison_pairs(session, baseline)
    if not pairs:
        return int(ExitCode.OK)
    policy = load_policy(session.root)
    if not allow_partial:
        for role, source in [("baseline", pairs[0][1])] + [("candidate", p[3]) for p in pairs]:
            why = incomplete_reason(source, role)
            if why:
                return not_run(session, f"{why}; a verdict on it would be a partial "
                               "comparison (only the cases that finished, not the whole eval): "
                               "run every item (no -k, --lf or shard; finish an interrupted run "
                               "with --passline-resume), or pass --passline-allow-partial to gate "
                               "the cases that finished", ExitCode.INFRASTRUCTURE_ERROR)
    lines: list[str] = []
    worst = 0
    for base_label, base_src, cand_name, cand_dir in pairs:
        try:
            from passline.report import build_report
            from passline.report._helper import load_sides

            # each run read once, for the comparison and the report
            base, cand = load_sides(base_src, cand_dir)
            comparison, verdict = _compare_pair(session, policy, base_src, cand_name, say,
                                                (base, cand))
            out = Path(cand_dir) / f"vs-{_slug(base_label)}"
            paths = build_report(base, cand, out, comparison=comparison,
                                 verdict=verdict, history_root=session.run_root,
                                 title=f"{cand_name} vs {base_label}")
            del base, cand
        except PasslineError as exc:
            lines.append(f"passline gate: NOT RUN ({cand_name} vs {base_label}) -- {exc}")
            worst = max(worst, int(exc.exit_code))
            continue
        lines.append(f"passline gate: {verdict.status.upper()} ({cand_name} vs {base_label})")
        lines += [f"  - {r}" for r in verdict.reasons]
        lines.append(f"  report: {paths.index_html}  (summary.md, junit.xml beside it)")
        worst = max(worst, int(verdict.exit_code))
    session.verdict_text = "\n".join(lines)
    return worst


def _compare_pair(session: EvalSession, policy: GatePolicy, base_src: str, cand_name: str,
                  say: Say | None, sides: tuple[ReportSide, ReportSide]
                  ) -> tuple[Comparison, Verdict]:
    """Compare the two runs (``sides``, as read for the report), confirm and gate."""
    from passline.compare import confirm, first_look_alpha, gate
    from passline.report._build import compare_sides

    rerun, note = session_rerun(session, base_src, cand_name, policy)
    staged = rerun is not None and rerun.baseline_available and policy.confirm_metrics
    comparison = compare_sides(*sides, policy,
                               first_look_alpha=first_look_alpha(policy.alpha) if staged
                               else None)
    if rerun is not None:
        comparison = confirm(comparison, policy, rerun, progress=say)
        if note and comparison.confirmation is not None:
            import dataclasses

            joined = "; ".join(x for x in (comparison.confirmation.note, note) if x)
            comparison = dataclasses.replace(comparison, confirmation=dataclasses.replace(
                comparison.confirmation, note=joined))
    return comparison, gate(comparison, policy)


def session_rerun(session: EvalSession, base_src: str, cand_name: str, policy: GatePolicy
                  ) -> tuple[Any, str]:
    """A re-runner for confirmation trials of this session's variants, or (None, why not)."""
    from passline.runner._rerun import SessionRerun, SideSpec, same_code, side_from_manifest

    if not policy.confirms:
        return None, "confirmation is off ([tool.passline.gate] confirm_trials = 0)"
    if session.settings.cache == "replay":
        return None, "no confirmation runs with --passline-cache replay (no live model)"
    sampling = {k: getattr(session.settings, k) for k in ("temperature", "seed", "judge_model")
                if getattr(session.settings, k) not in (None, "")}
    variants = {v.name: v for v in session.variants}
    candidate = SideSpec(variants[cand_name].to_dict(), sampling)
    base_variant = next((v for v in session.variants if str(session.summaries.get(
        v.name, {}).get("_path")) == base_src), None)
    note = ""
    if base_variant is not None:
        baseline: SideSpec | None = SideSpec(base_variant.to_dict(), sampling)
    else:  # --passline-baseline: a record made elsewhere, perhaps by other agent code
        from passline.compare import load_baseline
        from passline.compare._io import read_manifest

        path = Path(base_src)
        manifest = read_manifest(path) if path.is_dir() else load_baseline(path).manifest
        ok, why = same_code(manifest, session.root)
        baseline = side_from_manifest(manifest) if ok else None
        if baseline is None:
            note = f"the baseline was not re-run ({why or 'its variant is not recorded'})"
    return SessionRerun(session.root, baseline=baseline, candidate=candidate), note
