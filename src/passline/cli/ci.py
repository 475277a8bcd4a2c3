"""``passline ci``: the steps of the pull-request loop, as plain commands any CI can run.

``candidate`` finds (and joins shards of) the run a job just recorded; ``gate`` compares it
with the baseline, writes the report and exits with the verdict; ``summary`` puts summary.md
into the job summary; ``comment`` keeps one sticky pull-request comment up to date;
``fetch-baseline`` downloads the main branch's newest baseline artifact. The repository's
``action.yml`` runs exactly these; docs/ci.md shows them on GitLab CI and in plain shell.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from passline.cli._output import add_output_flags, examples
from passline.errors import ConfigError, ExitCode

API_HELP = "GitHub API base URL (default: env GITHUB_API_URL, else https://api.github.com)"
TOKEN_HELP = "environment variable holding the token (default GITHUB_TOKEN; never printed)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ci", help="CI steps: find the run, gate and report, job summary, sticky PR comment",
        description="The pull-request loop as plain commands (see docs/ci.md). On GitHub "
        "Actions they read the repository, pull request, token and output files from the "
        "environment; elsewhere give them as options.",
        **examples("passline ci gate reports/baselines/main.json \"$(passline ci candidate "
                   "--run-dir reports/runs)\"",
                   "passline ci comment reports/ci/summary.md --key evals"))
    csub = p.add_subparsers(dest="ci_command", metavar="STEP", required=True)

    cand = csub.add_parser(
        "candidate", help="print the run directory a job recorded (joining its shards)",
        description="Find the run record the eval command wrote under --run-dir. Several records "
        "of one variant are shards (--passline-shard I/N): every shard must be there once, and "
        "they are joined with `passline merge` into --out. Prints the run directory.",
        **examples("passline ci candidate --run-dir reports/runs",
                   "passline ci candidate --run-dir shards/ --variant candidate --json"))
    cand.add_argument("--run-dir", "--runs", dest="runs", required=True, metavar="DIR",
                      help="the folder the eval command wrote its run records to")
    cand.add_argument("--variant", default=None, metavar="NAME",
                      help="the variant to pick when the session ran several")
    cand.add_argument("--out", default=None, metavar="DIR",
                      help="where joined shards go (default: DIR/../merged/<run id>)")
    add_output_flags(cand)
    cand.set_defaults(func=candidate_cmd)

    g = csub.add_parser(
        "gate", help="gate CANDIDATE against BASELINE, write the report, exit with the verdict",
        description="`passline gate` and `passline report` in one pass (the runs are compared "
        "once): writes index.html, summary.md, junit.xml and gate.json into --out, sets the "
        "step outputs verdict, exit-code, report-dir and summary on GitHub Actions, and exits "
        "0 pass, 1 regression, 3 when agent runs ended in error (an outage is no verdict).",
        **examples("passline ci gate reports/baselines/main.json reports/runs/RUN_ID",
                   "passline ci gate main reports/runs/RUN_ID --out reports/ci "
                   "--report-url https://example.github.io/evals/pr-42/"))
    g.add_argument("baseline", metavar="BASELINE",
                   help="run directory, baseline file or NAME of a saved baseline")
    g.add_argument("candidate", metavar="CANDIDATE", help="run directory")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="report directory (default reports/<candidate>-vs-<baseline>)")
    g.add_argument("--report-url", default=None, metavar="URL",
                   help="link to the full report in summary.md (default: env "
                   "PASSLINE_REPORT_URL, else the GitHub Actions run page whose artifacts hold "
                   "it, else the local path)")
    g.add_argument("--title", default=None, help="report title (default: the variant names)")
    g.add_argument("--baselines-dir", default="reports/baselines", metavar="DIR",
                   help="where named baselines live (default reports/baselines)")
    g.add_argument("--allow-errors", action="store_true",
                   help="count agent runs that ended in error as failures instead of exiting 3")
    from passline.cli.gate import add_evidence_options

    add_evidence_options(g)  # --confirm, --allow-partial (as `passline gate`)
    add_output_flags(g)
    g.set_defaults(func=gate_cmd)

    s = csub.add_parser(
        "summary", help="append summary.md to the job summary ($GITHUB_STEP_SUMMARY)",
        description="Append SUMMARY_MD to the GitHub Actions job summary, or print it when "
        "there is no job summary file (other CIs).",
        **examples("passline ci summary reports/ci/summary.md",
                   "passline ci summary reports/ci/summary.md --step-summary summary.txt"))
    s.add_argument("summary", metavar="SUMMARY_MD")
    s.add_argument("--step-summary", default=None, metavar="FILE",
                   help="file to append to (default: env GITHUB_STEP_SUMMARY)")
    s.set_defaults(func=summary_cmd)

    c = csub.add_parser(
        "comment", help="create or update the one sticky pull-request comment",
        description="Post SUMMARY_MD as a comment on the pull request, or edit the comment an "
        "earlier push made (found by a hidden marker), so a pull request has one passline "
        "comment per --key, however often it is pushed. When the token may not comment (a "
        "pull request from a fork gets a read-only token), or GitHub keeps failing, a notice "
        "goes to the job summary and the exit code stays 0: the gate, not the comment, "
        "decides a job's status.",
        **examples("passline ci comment reports/ci/summary.md",
                   "passline ci comment summary.md --repo octo/app --pr 42 --key nightly"))
    c.add_argument("summary", metavar="SUMMARY_MD")
    c.add_argument("--key", default="passline", metavar="KEY",
                   help="which sticky comment (one per key; use one key per workflow that "
                   "comments; default passline)")
    c.add_argument("--repo", default=None, metavar="OWNER/NAME",
                   help="repository (default: env GITHUB_REPOSITORY)")
    c.add_argument("--pr", type=int, default=None, metavar="N",
                   help="pull request number (default: from the event in GITHUB_EVENT_PATH)")
    c.add_argument("--author", default=None, metavar="LOGIN",
                   help="only edit marked comments by this login, e.g. github-actions[bot] "
                   "(default: any comment that opens with the marker)")
    c.add_argument("--token-env", default="GITHUB_TOKEN", metavar="VAR", help=TOKEN_HELP)
    c.add_argument("--api-url", default=None, metavar="URL", help=API_HELP)
    c.add_argument("--max-wait", type=float, default=120.0, metavar="S",
                   help="longest total wait for GitHub rate limits, seconds (default 120)")
    c.add_argument("--step-summary", default=None, metavar="FILE",
                   help="job summary file for notices (default: env GITHUB_STEP_SUMMARY)")
    c.add_argument("--strict", action="store_true",
                   help="exit 3 when the comment could not be posted for any reason but a "
                   "fork's read-only token")
    add_output_flags(c)
    c.set_defaults(func=comment_cmd)

    f = csub.add_parser(
        "fetch-baseline", help="download the newest baseline artifact of the main branch",
        description="Find the newest successful run of --workflow on --branch that uploaded "
        "--artifact, download it into --out and print the baseline's path (a baseline file "
        "or run directory). The token needs `actions: read`.",
        **examples("passline ci fetch-baseline",
                   "passline ci fetch-baseline --workflow evals.yml --branch main "
                   "--artifact passline-baseline --out .passline/baseline"))
    f.add_argument("--workflow", default="evals.yml", metavar="FILE",
                   help="workflow file name or id (default evals.yml)")
    f.add_argument("--branch", default="main", help="branch whose runs count (default main)")
    f.add_argument("--artifact", default="passline-baseline", metavar="NAME",
                   help="artifact name (default passline-baseline)")
    f.add_argument("--out", default=".passline/baseline", metavar="DIR",
                   help="where to unpack it (default .passline/baseline)")
    f.add_argument("--repo", default=None, metavar="OWNER/NAME",
                   help="repository (default: env GITHUB_REPOSITORY)")
    f.add_argument("--token-env", default="GITHUB_TOKEN", metavar="VAR", help=TOKEN_HELP)
    f.add_argument("--api-url", default=None, metavar="URL", help=API_HELP)
    f.add_argument("--max-wait", type=float, default=120.0, metavar="S",
                   help="longest total wait for GitHub rate limits, seconds (default 120)")
    add_output_flags(f)
    f.set_defaults(func=fetch_baseline_cmd)


# -- candidate ----------------------------------------------------------------------------

_SHARD_SUFFIX = re.compile(r"-shard\d+of\d+$")


def candidate_cmd(args: argparse.Namespace) -> int:
    path, joined = find_candidate(Path(args.runs), args.variant,
                                  Path(args.out) if args.out else None)
    from passline.ci import set_outputs

    set_outputs(os.environ.get("GITHUB_OUTPUT"), {"run-dir": path})
    if args.json:
        print(json.dumps({"run_dir": str(path), "joined": [str(p) for p in joined]}, indent=2))
    else:
        if joined:
            print(f"joined {len(joined)} shards into {path}", file=sys.stderr)
        print(path)
    return 0


def find_candidate(runs_dir: Path, variant: str | None, out: Path | None
                   ) -> tuple[Path, list[Path]]:
    """The run directory under ``runs_dir`` (shards joined); and the shards it joined."""
    from passline.records import list_runs, merge_runs

    manifests = list_runs(runs_dir)
    if not manifests:
        raise ConfigError(f"no run record under {runs_dir}: did the eval command run with "
                          f"--passline-run-dir={runs_dir} (or PASSLINE_RUN_DIR)?")
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for m in manifests:
        by_variant.setdefault(str((m.get("variant") or {}).get("name")), []).append(m)
    if variant is not None:
        if variant not in by_variant:
            raise ConfigError(f"no run of variant {variant!r} under {runs_dir}; it has "
                              f"{', '.join(sorted(by_variant))}")
        chosen = by_variant[variant]
    elif len(by_variant) > 1:
        raise ConfigError(f"{runs_dir} holds runs of several variants "
                          f"({', '.join(sorted(by_variant))}); pick one with --variant")
    else:
        chosen = next(iter(by_variant.values()))
    if len(chosen) == 1 and not chosen[0].get("shard"):
        return Path(chosen[0]["_path"]), []
    shards: dict[int, dict[str, Any]] = {}
    counts = set()
    for m in chosen:  # newest first: a re-run shard replaces the older record
        shard = m.get("shard")
        if not shard:
            raise ConfigError(f"{runs_dir} holds {len(chosen)} runs of one variant but "
                              f"{m.get('run_id')} is no shard; give each job its own run dir")
        counts.add(int(shard[1]))
        shards.setdefault(int(shard[0]), m)
    if len(counts) != 1:
        raise ConfigError(f"shards of different splits under {runs_dir}: N = {sorted(counts)}")
    (count,) = counts
    missing = sorted(set(range(1, count + 1)) - set(shards))
    if missing:
        raise ConfigError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing under "
                          f"{runs_dir}: a gate on part of the suite would judge the wrong "
                          "cases; re-run the failed shard job")
    dirs = [Path(shards[i]["_path"]) for i in sorted(shards)]
    run_id = _SHARD_SUFFIX.sub("", str(shards[1].get("run_id") or "merged"))
    target = out if out is not None else runs_dir.parent / "merged" / run_id
    merge_runs(dirs, target, run_id=run_id)
    return target, dirs


# -- gate ---------------------------------------------------------------------------------

def gate_cmd(args: argparse.Namespace) -> int:
    from passline.ci import CIContext, append_step_summary, set_outputs
    from passline.cli.gate import decide, print_verdict, refusal, resolve_source
    from passline.cli.report import default_out_dir
    from passline.compare import load_policy
    from passline.records import atomic_write_json
    from passline.report import build_report
    from passline.report._helper import load_sides

    ctx = CIContext.from_env()
    outputs_file = os.environ.get("GITHUB_OUTPUT")
    baseline = resolve_source(args.baseline, args.baselines_dir)
    candidate = resolve_source(args.candidate, args.baselines_dir)
    # an errored or incomplete record gets no verdict (docs/statistics.md, section 9)
    sources = [("baseline", baseline), ("candidate", candidate)]
    why = refusal(sources, allow_errors=True, allow_partial=args.allow_partial)
    sides = None
    if not why:  # each run read once: its errors counted, compared, then shown
        sides = load_sides(baseline, candidate)
        why = refusal(sources, allow_errors=args.allow_errors, allow_partial=True, sides=sides)
    if why or sides is None:
        text = f"passline gate: NOT RUN -- {why}"
        print(text)
        append_step_summary(ctx.step_summary, f"### ⚠️ passline: NOT RUN\n\n{text}\n")
        set_outputs(outputs_file, {"verdict": "error",
                                   "exit-code": int(ExitCode.INFRASTRUCTURE_ERROR)})
        return int(ExitCode.INFRASTRUCTURE_ERROR)
    policy = load_policy()
    comparison, verdict = decide(
        baseline, candidate, policy, confirm=args.confirm, allow_errors=args.allow_errors,
        say=None if args.json else (lambda line: print(f"passline gate: {line}")),
        sides=sides)
    out = Path(args.out) if args.out else default_out_dir(baseline, candidate)
    report_url = (args.report_url or os.environ.get("PASSLINE_REPORT_URL") or ctx.run_url
                  or None)
    paths = build_report(*sides, out, title=args.title, comparison=comparison,
                         verdict=verdict, report_url=report_url)
    del sides
    record = {"schema_version": 1, "verdict": verdict.to_dict(),
              "exit_code": int(verdict.exit_code), "baseline": baseline,
              "candidate": candidate, "report_url": report_url,
              "index_html": str(paths.index_html), "summary_md": str(paths.summary_md),
              "junit_xml": str(paths.junit_xml)}
    atomic_write_json(out / "gate.json", record)
    set_outputs(outputs_file, {"verdict": verdict.status, "exit-code": int(verdict.exit_code),
                               "report-dir": out, "summary": paths.summary_md})
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print_verdict(verdict, comparison)
        print(f"report: {paths.index_html}")
        print(f"summary: {paths.summary_md}")
    return int(verdict.exit_code)


# -- summary ------------------------------------------------------------------------------

def summary_cmd(args: argparse.Namespace) -> int:
    from passline.ci import append_step_summary

    text = _read_summary(args.summary)
    target = args.step_summary or os.environ.get("GITHUB_STEP_SUMMARY")
    if not append_step_summary(target, text):
        print(text)
    return 0


def _read_summary(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such summary; `passline ci gate` or `passline report` "
                          "writes summary.md into the report directory") from None


# -- comment ------------------------------------------------------------------------------

FORK_NOTICE = ("passline did not comment on this pull request: it comes from a fork, and "
               "GitHub gives workflows of fork pull requests a read-only token. The verdict "
               "and summary are in this job summary; the exit status is the gate's.")


def comment_cmd(args: argparse.Namespace) -> int:
    from passline.ci import (
        CIContext,
        GitHubAPI,
        GitHubError,
        PermissionDenied,
        annotation,
        append_step_summary,
        set_outputs,
        upsert_comment,
    )
    from passline.ci._comment import valid_key

    text = _read_summary(args.summary)
    if not valid_key(args.key):
        raise ConfigError(f"--key {args.key!r}: use letters, digits and . _ / - (at most 100)")
    ctx = CIContext.from_env(token_env=args.token_env, repo=args.repo, pr=args.pr,
                             api_url=args.api_url, step_summary=args.step_summary)

    def skip(kind: str, message: str, code: int = 0) -> int:
        print(annotation(kind, message))
        append_step_summary(ctx.step_summary, f"> [!{'NOTE' if kind == 'notice' else 'WARNING'}]"
                                              f"\n> {message}\n")
        if args.json:
            print(json.dumps({"action": "skipped", "reason": message}))
        return code

    if ctx.pr is None:
        return skip("notice", "not a pull request (no pull request number in the event or "
                    "--pr): no comment was made")
    if not ctx.repo:
        raise ConfigError("no repository: pass --repo OWNER/NAME (GitHub Actions sets "
                          "GITHUB_REPOSITORY)")
    strict_code = int(ExitCode.INFRASTRUCTURE_ERROR) if args.strict else 0
    if not ctx.token:
        return skip("warning", f"no token in ${args.token_env}: no comment was made; give the "
                    "step `env: GITHUB_TOKEN: ${{ github.token }}` and the job "
                    "`permissions: pull-requests: write`", strict_code)
    try:
        with GitHubAPI(ctx.token, ctx.api_url, max_wait_s=args.max_wait) as api:
            result = upsert_comment(api, ctx.repo, ctx.pr, text, key=args.key,
                                    author=args.author)
    except PermissionDenied as exc:
        if ctx.fork:
            return skip("notice", FORK_NOTICE)
        return skip("warning", f"passline could not comment ({exc}). Give the job "
                    "`permissions: pull-requests: write`; the verdict and summary are in this "
                    "job summary.", strict_code)
    except GitHubError as exc:
        return skip("warning", f"passline could not comment: {exc}. The verdict and summary "
                    "are in this job summary.", strict_code)
    set_outputs(os.environ.get("GITHUB_OUTPUT"), {"comment-url": result.url})
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"{result.action} comment {result.comment_id}: {result.url}")
    return 0


# -- fetch-baseline -----------------------------------------------------------------------

def fetch_baseline_cmd(args: argparse.Namespace) -> int:
    from passline.ci import CIContext, GitHubAPI, PermissionDenied, fetch_baseline, set_outputs

    ctx = CIContext.from_env(token_env=args.token_env, repo=args.repo, api_url=args.api_url)
    if not ctx.repo:
        raise ConfigError("no repository: pass --repo OWNER/NAME (GitHub Actions sets "
                          "GITHUB_REPOSITORY)")
    if not ctx.token:
        raise ConfigError(f"no token in ${args.token_env}: artifacts need a token with "
                          "`actions: read`")
    try:
        with GitHubAPI(ctx.token, ctx.api_url, max_wait_s=args.max_wait) as api:
            fetched = fetch_baseline(api, ctx.repo, workflow=args.workflow, branch=args.branch,
                                     artifact=args.artifact, out_dir=args.out)
    except PermissionDenied as exc:
        raise ConfigError(f"{exc}; the job needs `permissions: actions: read` to download "
                          "artifacts of other workflow runs") from None
    set_outputs(os.environ.get("GITHUB_OUTPUT"), {"baseline": fetched.path,
                                                  "baseline-run-url": fetched.run_url})
    if args.json:
        print(json.dumps(fetched.to_dict(), indent=2))
    else:
        print(f"baseline from {fetched.run_url or fetched.run_id} "
              f"({fetched.head_sha[:10]})", file=sys.stderr)
        print(fetched.path)
    return 0
