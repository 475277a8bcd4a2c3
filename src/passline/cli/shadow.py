"""``passline shadow``: run a candidate on recorded traffic and gate it against production."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from passline.cli._output import add_output_flags, examples
from passline.cli.traces import selection_flags, selection_of, store_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "shadow", help="run a candidate on recorded production traffic; compare, report, gate",
        description="Runs the candidate variant on the inputs of recorded conversations "
        "(passline traces import), judges each answer against production's in both orders, "
        "compares tool calls, cost and latency with paired statistics and writes the HTML "
        "report (production is the baseline side), summary.md, shadow.json and flagged.jsonl. "
        "The exit code is the gate's verdict. See docs/production.md.",
        **examples("passline shadow --candidate cand=sim-2:v3",
                   "passline shadow --candidate cand=gpt-4o-mini:v2 --since 2026-11-30 "
                   "--sample 200 --max-cost 2.50",
                   "passline shadow --replay --candidate cheap=gpt-4.1-nano:v1 --tag env:prod"))
    p.add_argument("--candidate", required=True, metavar="NAME=MODEL:PROMPTS",
                   help="the variant to try, e.g. cand=sim-2:v3")
    p.add_argument("--agent", default=None, metavar="MODULE:FUNCTION",
                   help="the agent that runs the candidate (default: agent of "
                        "[tool.passline])")
    p.add_argument("--replay", action="store_true",
                   help="re-send each recorded model call to the candidate's model instead "
                        "of running an agent (call-level traffic such as gateway logs)")
    p.add_argument("--system-prompt", default=None, metavar="FILE",
                   help="with --replay: a system prompt file that replaces the recorded one")
    p.add_argument("--rubric", default="answer-quality@1",
                   help="the rubric of the pairwise judge (default answer-quality@1)")
    p.add_argument("--judge-model", default=None, help="judge model (default: judge_model, "
                   "else model, of the settings)")
    p.add_argument("--untrusted-judge", choices=("inform", "gate"), default=None,
                   help="what the verdicts of an untrusted or never-calibrated judge do: "
                        "inform (shown, decide nothing) or gate (decide pass/fail and the "
                        "gate); default: untrusted_judge of the settings (inform)")
    p.add_argument("--trials", type=int, default=1, help="candidate trials per conversation")
    p.add_argument("--max-cost", type=float, default=None, metavar="USD",
                   help="stop starting runs once the candidate and its judge spent this much")
    p.add_argument("--concurrency", type=int, default=None)
    p.add_argument("--cache", choices=("off", "rw", "replay"), default=None,
                   help="record/replay cache mode (as --passline-cache)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="report directory (default reports/shadow/<candidate name>)")
    selection_flags(p)
    add_output_flags(p)
    p.set_defaults(func=run, traffic_dir=None)


def run(args: argparse.Namespace) -> int:
    from passline._types import Variant
    from passline.errors import ConfigError
    from passline.settings import Settings, find_pyproject
    from passline.shadow import REPLAY_AGENT, shadow

    variant = Variant.parse(args.candidate)
    if args.system_prompt:
        if not args.replay:
            raise ConfigError("--system-prompt goes with --replay (an agent builds its own "
                              "prompts: pick them with the variant's PROMPTS)")
        try:
            text = Path(args.system_prompt).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--system-prompt {args.system_prompt}: {exc}") from exc
        variant = Variant(variant.name, variant.model, variant.prompts,
                          {"system_prompt": text})
    pyproject = find_pyproject(Path.cwd())
    root = pyproject.parent if pyproject else Path.cwd()
    settings = Settings.resolve({"concurrency": args.concurrency, "cache": args.cache,
                                 "untrusted_judge": args.untrusted_judge}, root=root)
    if not args.replay and (args.agent or settings.agent):
        import sys

        if str(root) not in sys.path:  # agent = "my_agent:run" names a module of the project
            sys.path.insert(0, str(root))
    selection = selection_of(args)
    records = store_of(args).select(selection)
    out = Path(args.out) if args.out else Path("reports") / "shadow" / variant.name
    result = shadow(settings, variant=variant, records=records, out_dir=out,
                    agent=REPLAY_AGENT if args.replay else args.agent, trials=args.trials,
                    rubric=args.rubric, judge_model=args.judge_model,
                    max_cost_usd=args.max_cost, root=root, selection=selection.describe())
    if args.json:
        print(json.dumps({**result.summary, "index_html": str(result.index_html),
                          "summary_md": str(result.summary_md),
                          "verdict": result.verdict.to_dict()}, indent=2, default=str))
        return result.exit_code
    s = result.summary
    print(f"shadow {variant.name} ({variant.model} / {variant.prompts}) vs production on "
          f"{s['judged_runs']} recorded conversation run(s)")
    print(f"  judge {s['rubric']}: candidate preferred {s['candidate_wins']}, production "
          f"preferred {s['production_wins']}, tie {s['ties']}, errors {s['judge_errors']}")
    if not s["judge_decides"]:
        print("  the judge is not trusted: its verdicts are informational and decided no case "
              "(--untrusted-judge gate to let them)")
    print(f"  tool-call trajectories differ on {s['trajectory_differences']}; flagged for "
          f"review: {s['flagged']} ({result.out_dir / 'flagged.jsonl'})")
    print(f"verdict: {result.verdict.status.upper()}")
    for reason in result.verdict.reasons[:6]:
        print(f"  - {reason}")
    print(f"report: {result.index_html}")
    return result.exit_code
