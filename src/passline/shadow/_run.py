"""Run a candidate on recorded traffic and compare it with production's answers.

Production's answers become a run record (variant ``production``) and the candidate's
another, written by the same writer as eval runs, then compared, gated and reported by the
same functions as any two runs. The candidate runs on :class:`passline.runner.Runner`, so the
concurrency limit, the record/replay cache, capture, timeouts and retries of evals apply; a
cost cap stops submitting new work once the candidate and its judge have spent it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_json, atomic_write_text
from passline._types import AgentRun, Case, RunStatus, Usage, Variant
from passline.errors import ConfigError
from passline.settings import Settings
from passline.shadow._judge import Verdict, judge_pair, scores
from passline.traffic import TrafficRecord, selection_version

log = logging.getLogger(__name__)

EVAL = "shadow"
DATASET = "traffic"
REPLAY_AGENT = "passline.shadow:replay"
SHADOW_SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ShadowResult:
    """Where a shadow run wrote its records and report, and what it found."""

    production_dir: Path
    candidate_dir: Path
    out_dir: Path
    index_html: Path
    summary_md: Path
    verdict: Any  # passline.compare.Verdict
    summary: dict[str, Any]
    flagged: list[dict[str, Any]]

    @property
    def exit_code(self) -> int:
        return int(self.verdict.exit_code)


async def replay(case_input: Mapping[str, Any], ctx: Any) -> AgentRun:
    """The built-in shadow agent for call-level traffic: send the recorded chat request
    (``messages``, ``tools``) to the candidate's model and return its reply. With
    ``params["system_prompt"]`` the recorded system message is replaced, to try a prompt."""
    from passline._types import ToolCall

    messages = [dict(m) for m in case_input.get("messages") or ()]
    if not messages:
        messages = [*case_input.get("history", []),
                    {"role": "user", "content": str(case_input.get("message") or "")}]
    system = (ctx.params or {}).get("system_prompt")
    if system:
        messages = [{"role": "system", "content": str(system)},
                    *[m for m in messages if m.get("role") not in ("system", "developer")]]
    reply = await ctx.client.chat(messages, model=ctx.model, tools=case_input.get("tools"),
                                  trial=ctx.trial)
    calls = tuple(ToolCall(t.name, t.arguments(), t.id) for t in reply.tool_calls)
    return AgentRun(answer=reply.content or "", tool_calls=calls, usage=reply.usage,
                    latency_s=reply.latency_s, steps=1)


def _case(record: TrafficRecord, version: str, *, replaying: bool) -> Case:
    case_input = dict(record.input)
    if replaying and record.request:
        case_input["messages"] = list(record.request.get("messages") or ())
        if record.request.get("tools"):
            case_input["tools"] = list(record.request["tools"])
    return Case(id=record.id, input=case_input, expected={}, tags=tuple(record.tags),
                dataset=DATASET, version=version,
                metadata={"recorded_at": record.recorded_at, "model": record.model})


def shadow(settings: Settings, *, variant: Variant, records: Sequence[TrafficRecord],
           out_dir: str | Path, agent: str | None = None, trials: int = 1,
           rubric: str = "answer-quality@1", judge_model: str | None = None,
           max_cost_usd: float | None = None, root: str | Path | None = None,
           selection: str = "", title: str | None = None) -> ShadowResult:
    """Run ``variant`` on the inputs of ``records`` and compare it with production.

    ``agent`` is the agent to run (default: ``settings.agent``; :data:`REPLAY_AGENT` replays
    call-level records on the variant's model). Writes two run records under
    ``settings.run_dir`` and the report (``index.html``, ``summary.md``, ``junit.xml``,
    ``shadow.json``, ``flagged.jsonl``) into ``out_dir``.

    >>> result = shadow(settings, variant=Variant("cand", "sim-1", "v1"), records=records,
    ...                 out_dir="reports/shadow")                          # doctest: +SKIP
    >>> result.verdict.status                                               # doctest: +SKIP
    'regressed'
    """
    from passline.runner import Runner

    root = Path(root) if root is not None else Path.cwd()
    agent = agent or settings.agent or None
    if not agent:
        raise ConfigError("no agent to run the candidate: set [tool.passline] agent, pass "
                          f"--agent module:function, or --replay ({REPLAY_AGENT}) to re-send "
                          "recorded model calls")
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, got {trials}")
    usable = [r for r in records if r.status == "ok"]
    skipped = len(records) - len(usable)
    if not usable:
        raise ConfigError("no recorded conversation to shadow: the selection is empty (or "
                          "every selected conversation ended in an error in production)")
    if variant.name == "production":
        raise ConfigError("the candidate cannot be named 'production' (the recorded side is)")
    if settings.cache != "off" and not Path(settings.cache_path).is_absolute():
        settings = dataclasses.replace(settings, cache_path=str(root / settings.cache_path))
    version = selection_version(usable)
    replaying = agent == REPLAY_AGENT
    cases = [(r, _case(r, version, replaying=replaying)) for r in usable]
    session = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
    run_root = Path(settings.run_dir)
    run_root = run_root if run_root.is_absolute() else root / run_root
    workdir = root / ".passline" / "work" / f"shadow-{session}-{os.getpid()}"
    calibration = _calibration(rubric, judge_model or settings.judge_model or settings.model,
                               root)
    from passline.judge._policy import judge_gates

    # the untrusted-judge policy: an untrusted (or never calibrated) judge's verdicts are
    # shown but decide nothing unless the project opts in with untrusted_judge = "gate"
    gates = judge_gates(calibration, settings.untrusted_judge)
    t0 = time.perf_counter()
    runner = Runner(settings, workdir=workdir)
    try:
        from passline.runner import Job

        warm = set() if settings.cache == "replay" else {  # replayed runs reach no model
            variant.model, judge_model or settings.judge_model or settings.model}
        for model in warm:
            try:
                runner.client.endpoint(model)  # start the simulator before the first wave
            except Exception:  # a missing key etc. is reported by the run that needs it
                log.debug("endpoint for %s not ready", model, exc_info=True)
        jobs = [(record, Job(agent, case, trial, variant))
                for record, case in cases for trial in range(trials)]
        done, budget_stop = _drive(runner, jobs, rubric, judge_model, max_cost_usd)
        calls = {job.key: runner.take_calls(job) for _, job, _, _ in done}
        ledgers = runner.capture.ledgers()
        client_summary = _client_summary(runner)
        wall = runner.progress.wall_s
    finally:
        runner.close()
        shutil.rmtree(workdir, ignore_errors=True)

    base_manifest = {"datasets": {f"{DATASET}@{version}": {
        "name": DATASET, "version": version, "n_cases": len(usable), "selection": selection}},
        "settings": settings.public_dict(), "trials": trials, "shadow": {
            "session": session, "rubric": rubric, "selection": selection}}
    prod_dir = run_root / f"{session}-production"
    cand_dir = run_root / f"{session}-{variant.name}"
    judges = {rubric: {**calibration, "untrusted_judge": settings.untrusted_judge,
                       "gates": gates}}
    _write_production(prod_dir, base_manifest, done, judges, gates)
    _write_candidate(cand_dir, base_manifest, variant, done, calls, judges, rubric,
                     ledgers.get(variant.name), client_summary, wall, time.perf_counter() - t0,
                     gates=gates, mode=settings.untrusted_judge)
    return _report(prod_dir, cand_dir, Path(out_dir), done, variant, rubric, judges[rubric],
                   skipped=skipped, budget_stop=budget_stop, selection=selection,
                   n_planned=len(jobs), title=title, root=root)


def _judge_fn(record: TrafficRecord, rubric: str, client: Any, model: str | None,
              trial: int) -> Any:
    async def fn(run: AgentRun) -> Verdict:
        return await judge_pair(record, run, rubric=rubric, client=client, model=model,
                                trial=trial)
    return fn


def _drive(runner: Any, jobs: list[tuple[TrafficRecord, Any]], rubric: str,
           judge_model: str | None, max_cost_usd: float | None
           ) -> tuple[list[tuple[TrafficRecord, Any, AgentRun, Verdict]], bool]:
    """Run every job and judge it as soon as it finishes. Without a cost cap every job is
    submitted at once (the runner bounds concurrency); with one, at most ``concurrency`` are
    in flight and no new job starts once the runs and their judging have spent the cap."""
    done: list[tuple[TrafficRecord, Any, AgentRun, Verdict]] = []
    queue = collections.deque(jobs)
    pending: collections.deque[tuple[Any, ...]] = collections.deque()

    def start_next() -> None:
        record, job = queue.popleft()
        fn = _judge_fn(record, rubric, runner.client, judge_model, job.trial)
        pending.append((record, job, runner.submit(job), runner.after(job, fn)))

    window = len(jobs) if max_cost_usd is None else runner.concurrency
    while queue and len(pending) < window:
        start_next()
    spent, stopped = 0.0, False
    while pending:
        record, job, run_future, verdict_future = pending.popleft()
        run, verdict = run_future.result(), verdict_future.result()
        spent += run.usage.cost_usd + verdict.judge_cost_usd
        done.append((record, job, run, verdict))
        if max_cost_usd is not None and spent > max_cost_usd:
            stopped = stopped or bool(queue)
            queue.clear()
        if queue:
            start_next()
    return done, stopped


def _client_summary(runner: Any) -> dict[str, Any]:
    client = runner._client
    if client is None:
        return {}
    return {"session_model_calls": {k: v.to_dict() for k, v in client.usage_by_purpose.items()},
            "cache": {"mode": client.cache.mode, "hits": client.cache.hits,
                      "misses": client.cache.misses}}


def _calibration(rubric: str, model: str, root: Path) -> dict[str, Any]:
    from passline.judge import judge_scorer

    try:
        return judge_scorer(rubric, root=root).calibration_summary(model)
    except Exception as exc:  # a missing calibration is reported, never fatal
        return {"rubric": rubric, "model": model, "status": "unreadable", "trusted": None,
                "error": str(exc)}


def _row(job: Any, record: TrafficRecord, run: AgentRun | None, *, status: str, score: float,
         score_list: list[dict[str, Any]], cost: float, tokens: int, latency: float,
         judge_cost: float = 0.0, error: str | None = None) -> dict[str, Any]:
    case = job.case
    return {"run_key": job.key, "variant": job.variant.name, "eval": EVAL, "case_id": case.id,
            "dataset": case.dataset, "dataset_version": case.version, "tags": list(case.tags),
            "cluster": None, "trial": job.trial, "status": status, "scores": score_list,
            "score": score, "run": run.to_dict() if run else None,
            "input": dict(record.input), "expected": {}, "cost_usd": cost, "tokens": tokens,
            "latency_s": latency, "judge_cost_usd": judge_cost,
            "error": error if status == "error" else None,
            "failure": error if status == "fail" else None,
            "traffic": {"id": record.id, "recorded_at": record.recorded_at,
                        "origin": record.origin}}


def _production_run(record: TrafficRecord) -> AgentRun:
    from passline._types import ToolCall

    usage = Usage(record.prompt_tokens, record.completion_tokens, record.cost_usd or 0.0,
                  calls=1)
    return AgentRun(answer=record.answer, usage=usage, latency_s=record.latency_s or 0.0,
                    tool_calls=tuple(ToolCall.from_dict({"name": t.get("name") or "?", **t})
                                     for t in record.tool_calls),
                    status=RunStatus.OK if record.status == "ok" else RunStatus.ERROR,
                    metadata={"traffic_id": record.id, "model": record.model})


def _status(verdict: Verdict, side: str, gates: bool = True) -> str:
    if not gates:  # an advisory verdict decides no outcome
        return "pass"
    if verdict.winner == "error":
        return "error"
    return "pass" if verdict.winner in (side, "tie") else "fail"


def _write_production(run_dir: Path, base: Mapping[str, Any], done: Sequence[tuple[Any, ...]],
                      judges: Mapping[str, Any], gates: bool) -> None:
    from passline import __version__
    from passline.records import RunWriter

    models = collections.Counter(r.model for r, *_ in done if r.model)
    model = models.most_common(1)[0][0] if models else "recorded"
    if len(models) > 1:
        model += f" (+{len(models) - 1} more)"
    writer = RunWriter(run_dir, {**base, "run_id": run_dir.name, "passline_version":
                                 __version__, "variant": {"name": "production", "model": model,
                                                          "prompts": "recorded", "params": {}},
                                 "source": "traffic", "prompts": {}})
    for record, job, _run, verdict in done:
        prod_job = dataclasses.replace(job, variant=Variant("production", model, "recorded"))
        run = _production_run(record)
        writer.write(_row(prod_job, record, run, status=_status(verdict, "production", gates),
                          score=verdict.production_value() if gates else 1.0, score_list=[],
                          cost=record.cost_usd or 0.0,
                          tokens=record.prompt_tokens + record.completion_tokens,
                          latency=record.latency_s or 0.0,
                          error=verdict.error if gates else None))
    writer.finish(judges=dict(judges))


def _write_candidate(run_dir: Path, base: Mapping[str, Any], variant: Variant,
                     done: Sequence[tuple[Any, ...]], calls: Mapping[str, Any],
                     judges: Mapping[str, Any], rubric: str, ledger: Any,
                     client_summary: Mapping[str, Any], wall: float, session_s: float, *,
                     gates: bool, mode: str) -> None:
    from passline import __version__
    from passline.records import RunWriter
    from passline.records._write import git_sha

    writer = RunWriter(run_dir, {**base, "run_id": run_dir.name, "variant": variant.to_dict(),
                                 "passline_version": __version__, "git_sha": git_sha(),
                                 "prompts": {}})
    for record, job, run, verdict in done:
        captured = calls.get(job.key)
        if captured is not None and captured.calls:
            writer.write_calls(
                {"run_key": job.key, "case_id": job.case.id, "dataset": DATASET,
                 "dataset_version": job.case.version, "trial": job.trial,
                 **c.to_dict(bodies=True)} for c in captured.ordered_calls())
        failed = str(run.status) in ("error", "timeout")
        status = "error" if failed else _status(verdict, "candidate", gates)
        score = 0.0 if failed else (verdict.candidate_value() if gates else 1.0)
        writer.write(_row(job, record, run, status=status, score=score,
                          score_list=[s.to_dict() for s in scores(
                              verdict, rubric, calibration=judges[rubric], gates=gates,
                              mode=mode)],
                          cost=run.usage.cost_usd, tokens=run.usage.total_tokens,
                          latency=run.latency_s, judge_cost=verdict.judge_cost_usd,
                          error=run.error if failed else (verdict.error if gates else None)))
    extra: dict[str, Any] = {**client_summary, "judges": dict(judges),
                             "timings": {"session_wall_s": round(session_s, 3),
                                         "runs_wall_s": round(wall, 3), "runs": len(done)}}
    if ledger:
        extra["captured_prompts"] = ledger
    writer.finish(**extra)


def _report(prod_dir: Path, cand_dir: Path, out: Path, done: Sequence[tuple[Any, ...]],
            variant: Variant, rubric: str, calibration: Mapping[str, Any], *, skipped: int,
            budget_stop: bool, selection: str, n_planned: int, title: str | None,
            root: Path) -> ShadowResult:
    from passline.compare import compare, gate, load_policy
    from passline.report import build_report

    policy = load_policy(root)
    comparison = compare(prod_dir, cand_dir, alpha=policy.alpha,
                         must_pass_tag=policy.must_pass_tag)
    verdict = gate(comparison, policy)
    title = title or (f"shadow: {variant.name} ({variant.model} / {variant.prompts}) vs "
                      "production")
    paths = build_report(prod_dir, cand_dir, out, title=title, comparison=comparison,
                         verdict=verdict)
    verdicts = [v for *_, v in done]
    counts = collections.Counter(v.winner for v in verdicts)
    flagged = _flagged(done)
    summary = {
        "schema_version": SHADOW_SCHEMA_VERSION, "production_run": str(prod_dir),
        "candidate_run": str(cand_dir), "candidate": variant.to_dict(), "rubric": rubric,
        "judge_calibration": dict(calibration), "selection": selection,
        "planned_runs": n_planned, "judged_runs": len(done),
        "skipped_production_errors": skipped, "stopped_by_cost_cap": budget_stop,
        "candidate_wins": counts["candidate"], "production_wins": counts["production"],
        "ties": counts["tie"], "judge_errors": counts["error"],
        "flipped_with_order": sum(v.flipped for v in verdicts),
        "trajectory_differences": sum(not v.trajectory_same for v in verdicts),
        "judge_decides": bool(calibration.get("gates", True)),
        "untrusted_judge": calibration.get("untrusted_judge"),
        "verdict": verdict.status, "flagged": len(flagged)}
    atomic_write_json(out / "shadow.json", summary)
    atomic_write_text(out / "flagged.jsonl", "".join(json.dumps(f) + "\n" for f in flagged))
    text = paths.summary_md.read_text(encoding="utf-8")
    marker = "<!-- passline:summary -->"  # the CI comment's marker stays last
    head, found, tail = text.rpartition(marker)
    section = _summary_md(summary, calibration)
    atomic_write_text(paths.summary_md, head.rstrip("\n") + "\n" + section + "\n" + found + tail
                      if found else text + section)
    return ShadowResult(prod_dir, cand_dir, out, paths.index_html, paths.summary_md, verdict,
                        summary, flagged)


def _flagged(done: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Conversations a reviewer should look at: the judge preferred one side, a side failed,
    or the tool calls differ. One entry per conversation (its first flagged trial)."""
    out: dict[str, dict[str, Any]] = {}
    for record, job, run, verdict in done:
        reasons = []
        if verdict.winner == "production":
            reasons.append("candidate-worse")
        elif verdict.winner == "candidate":
            reasons.append("candidate-better")
        elif verdict.winner == "error":
            reasons.append("judge-error")
        if str(run.status) in ("error", "timeout"):
            reasons.append("candidate-error")
        if not verdict.trajectory_same:
            reasons.append("trajectory-differs")
        if reasons and record.id not in out:
            out[record.id] = {"id": record.id, "trial": job.trial, "reasons": reasons,
                              "why": verdict.rationale or verdict.error or
                              verdict.trajectory_note, "message": record.message[:200]}
    return list(out.values())


def _summary_md(s: Mapping[str, Any], calibration: Mapping[str, Any]) -> str:
    from passline.judge._policy import trust_note

    trust = calibration.get("status") or "uncalibrated"
    if calibration.get("trusted") is not True:
        trust += f" -- not trusted ({trust_note(calibration)})"
    kappa = calibration.get("kappa")
    lines = ["", "## Shadow run on recorded traffic", "",
             f"- judged {s['judged_runs']} of {s['planned_runs']} candidate run(s) against "
             f"production's recorded answers ({s['selection'] or 'all recorded traffic'})",
             f"- pairwise judge `{s['rubric']}` (both orders): candidate preferred "
             f"{s['candidate_wins']}, production preferred {s['production_wins']}, tie "
             f"{s['ties']} ({s['flipped_with_order']} flipped with the order), "
             f"{s['judge_errors']} judge error(s)",
             f"- judge calibration: {trust}" + (f", Cohen's kappa {kappa:.2f}"
                                               if isinstance(kappa, int | float) else ""),
             ("- the judge's verdicts decided the pass/fail of each conversation"
              if s["judge_decides"] else
              "- the judge is not trusted, so its verdicts are informational: they decided no "
              f"case and not the gate (untrusted_judge = {s['untrusted_judge']}; calibrate the "
              "rubric, or opt in with untrusted_judge = \"gate\")"),
             f"- tool-call trajectories differ on {s['trajectory_differences']} run(s)",
             f"- {s['flagged']} conversation(s) flagged for review (flagged.jsonl; draft "
             "golden cases from them with `passline golden draft --from-traces`)"]
    if s["skipped_production_errors"]:
        lines.append(f"- {s['skipped_production_errors']} recorded conversation(s) ended in "
                     "an error in production and were left out")
    if s["stopped_by_cost_cap"]:
        lines.append("- stopped early: the cost cap was reached; the comparison covers the "
                     "runs that finished")
    return "\n".join(lines) + "\n"
