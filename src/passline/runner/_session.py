"""What the pytest plugin drives: one eval session (datasets, variants, jobs, records).

Kept out of ``plugin.py`` so the hooks stay thin and this logic is testable on its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._types import AgentRun, Case, RunStatus, Score, Variant
from passline.errors import ConfigError
from passline.runner import Job, Runner
from passline.settings import Settings

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """What a ``@passline.eval`` / ``pytest.mark.passline`` declares."""

    dataset: str
    agent: str | None = None
    trials: int | None = None
    scorers: tuple[Callable[..., Score], ...] = ()
    threshold: float | None = None  # mean score needed to pass (default: every score passes)
    allow_errors: bool = False  # let agent errors reach the test body instead of failing setup

    @classmethod
    def from_marker(cls, args: Sequence[Any], kwargs: Mapping[str, Any], where: str) -> EvalSpec:
        if not args and "dataset" not in kwargs:
            raise ConfigError(f"{where}: passline marker needs a dataset, e.g. "
                              "@passline.eval('tools-unit@v2')")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(kwargs) - known
        if unknown:
            raise ConfigError(f"{where}: unknown passline marker argument(s) {sorted(unknown)}; "
                              f"known: {sorted(known)}")
        values = dict(kwargs)
        if args:
            values["dataset"] = args[0]
        scorers = values.get("scorers") or ()
        values["scorers"] = tuple(scorers) if isinstance(scorers, (list, tuple)) else (scorers,)
        for s in values["scorers"]:
            if not callable(s):
                raise ConfigError(f"{where}: scorer {s!r} is not callable; a scorer is "
                                  "(run, case) -> Score")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Param:
    """The parameter behind one test item: a job plus the eval that scores it."""

    job: Job
    spec: EvalSpec

    @property
    def id(self) -> str:
        return f"{self.job.case.ref}:t{self.job.trial}"

    def __repr__(self) -> str:
        return self.id


class EvalSession:
    """Settings, variants, datasets, the runner and the run writers of one pytest session."""

    def __init__(self, settings: Settings, *, root: Path, variants: Sequence[Variant],
                 trials_override: int | None = None, shard: tuple[int, int] | None = None,
                 worker: bool = False) -> None:
        if settings.cache != "off" and not Path(settings.cache_path).is_absolute():
            settings = dataclasses.replace(settings, cache_path=str(root / settings.cache_path))
        if settings.cache == "replay" and not Path(settings.cache_path).exists():
            raise ConfigError(f"--passline-cache replay: no recorded responses at "
                              f"{settings.cache_path}; record them first with "
                              "--passline-cache rw (or set cache_path)")
        self.settings = settings
        self.root = root
        self.variants = list(variants)
        self.trials_override = trials_override
        self.shard = shard
        self.worker = worker
        self._datasets: dict[str, list[Case]] = {}
        self._fingerprints: dict[str, dict[str, Any]] = {}
        self._runner: Runner | None = None
        self._writers: dict[str, Any] = {}
        # unique even for sessions started in the same second (CI matrices, two terminals)
        self.session_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
        self.summaries: dict[str, dict[str, Any]] = {}
        self.specs: list[EvalSpec] = []
        self.verdict_text = ""
        self.worker_summaries: list[dict[str, Any]] = []  # sent by xdist workers
        self._errors: list[dict[str, Any]] = []
        self._started: set[int] = set()
        self._agents: dict[str, Any] = {}
        self._shard_index: dict[str, int] | None = None
        self._all_refs: set[str] = set()
        self._t0 = time.perf_counter()
        # before any agent module is imported: clients an agent builds at import time must
        # already be aimed at passline (see passline.capture)
        from passline.capture import CaptureSession

        self.capture = CaptureSession(settings, client=lambda: self.runner.client).activate()

    # -- collection -------------------------------------------------------------------
    def cases(self, ref: str) -> list[Case]:
        if ref not in self._datasets:
            from passline.golden import dataset_fingerprint, load_cases, parse_ref

            cases = load_cases(ref, root=self.root)
            self._datasets[ref] = cases
            info: dict[str, Any] = {"n_cases": len(cases)}
            try:
                parsed = parse_ref(ref, root=self.root)
                info.update(name=parsed.name, version=parsed.version)
                if parsed.path is not None and Path(parsed.path).exists():
                    info["fingerprint"] = dataset_fingerprint(parsed.path)
            except Exception:  # provenance is best effort; loading already succeeded
                log.debug("no fingerprint for %s", ref, exc_info=True)
            if cases:
                info.setdefault("name", cases[0].dataset)
                info.setdefault("version", cases[0].version)
            self._fingerprints[ref] = info
        return self._datasets[ref]

    def params(self, spec: EvalSpec) -> list[tuple[str, Param]]:
        """(test id, param) for every case x trial x variant of an eval."""
        agent = spec.agent or self.settings.agent
        if not agent:
            raise ConfigError("no agent to evaluate: set [tool.passline] agent = "
                              "'module:function', --passline-agent, or agent= in the marker")
        if agent not in self._agents:  # a typo in the agent name is a usage error, now
            # agent = "my_agent:run" names a module of the project (the folder of the
            # pyproject.toml): importable whatever the project's pytest config says
            import sys

            from passline.runner import resolve_agent

            if str(self.root) not in sys.path:
                sys.path.insert(0, str(self.root))
            self._agents[agent] = resolve_agent(agent)
        trials = self.trials_override or spec.trials or self.settings.trials
        self.specs.append(spec)
        out = []
        for variant in self.variants:
            for case in self.cases(spec.dataset):
                self._all_refs.add(case.ref)
                for trial in range(trials):
                    param = Param(Job(agent, case, trial, variant), spec)
                    prefix = f"{variant.name}:" if len(self.variants) > 1 else ""
                    out.append((prefix + param.id, param))
        return out

    def in_shard(self, param: Param) -> bool:
        if self.shard is None:
            return True
        index, count = self.shard
        if self._shard_index is None:  # round-robin over sorted case refs: even shards,
            # and every trial, variant and eval of a case stay on one shard
            self._shard_index = {ref: i for i, ref in enumerate(sorted(self._all_refs))}
        return self._shard_index.get(param.job.case.ref, 0) % count == index - 1

    # -- running ----------------------------------------------------------------------
    @property
    def runner(self) -> Runner:
        if self._runner is None:
            # private to this session and process: two xdist workers running the same job, or
            # a later session, never share (or replay) a journal
            workdir = self.root / ".passline" / "work" / f"{self.session_id}-{os.getpid()}"
            self._runner = Runner(self.settings, workdir=workdir, capture=self.capture)
        return self._runner

    def start(self, params: Iterable[Param]) -> int:
        """Start every run (and every scorer's async preparation, e.g. judge calls)."""
        params = list(params)
        if params and self.settings.cache != "replay":  # replayed runs never reach a model
            self.warm_up()
        n = 0
        for param in params:
            if id(param) in self._started:
                continue
            self._started.add(id(param))
            self.runner.submit(param.job)
            for scorer in param.spec.scorers:
                prepare = getattr(scorer, "aprepare", None)
                if prepare is not None:
                    self.runner.after(param.job, functools.partial(
                        _prepare, prepare, case=param.job.case, client=self.runner.client,
                        trial=param.job.trial))
            n += 1
        return n

    def warm_up(self) -> None:
        """Import the model SDK and resolve every variant's endpoint (starting the simulator
        if needed) before the first run, so the first wave of runs does not queue behind
        one-time start-up work on the runner's loop."""
        import openai  # noqa: F401  (the import is the point)

        client = self.runner.client
        for variant in self.variants:
            try:
                client.endpoint(variant.model)
            except Exception:  # a missing key etc. is reported by the run that needs it
                log.debug("endpoint for %s not ready", variant.model, exc_info=True)

    def wait(self, param: Param) -> AgentRun:
        return self.runner.result(param.job, timeout_s=self.settings.run_timeout_s + 60)

    @staticmethod
    def score(param: Param, run: AgentRun) -> list[Score]:
        from passline.scoring import evaluate

        return list(evaluate(run, param.job.case, list(param.spec.scorers)))

    @staticmethod
    def verdict(param: Param, scores: Sequence[Score], run: AgentRun | None = None
                ) -> tuple[bool, str]:
        """Whether the scores pass this eval, and a readable report of why not."""
        from passline.scoring import score_may_fail

        scores = [s for s in scores if score_may_fail(s)]  # advisory scores inform only
        if not scores:
            return True, ""
        failed = [s for s in scores if not s.passed]
        if param.spec.threshold is not None:
            mean = statistics.fmean(s.value for s in scores)
            if mean >= param.spec.threshold:
                return True, ""
            head = f"mean score {mean:.3f} < threshold {param.spec.threshold}"
        elif not failed:
            return True, ""
        else:
            head = f"{len(failed)} of {len(scores)} scores failed"
        return False, failure_report(param.job.case, run, failed, head)

    # -- records ----------------------------------------------------------------------
    def row(self, nodeid: str, param: Param, run: AgentRun | None, scores: Sequence[Score],
            status: str, error: str | None) -> dict[str, Any]:
        case, job = param.job.case, param.job
        from passline.scoring import score_may_fail

        usage = run.usage if run else None
        values = [s.value for s in scores if score_may_fail(s)]  # advisory: shown, not gated
        score = statistics.fmean(values) if values else (1.0 if status == "pass" else 0.0)
        calls = self.runner.take_calls(job) if self._runner is not None else None
        row: dict[str, Any] = {}
        if calls is not None and calls.calls:
            # travels with the row (to the xdist controller too); record() writes it apart
            row["_calls"] = [c.to_dict(bodies=self.settings.capture_bodies)
                             for c in calls.ordered_calls()]
        return row | {
            "run_key": job.key,
            "variant": job.variant.name, "eval": nodeid.split("[")[0],
            "case_id": case.id, "dataset": case.dataset, "dataset_version": case.version,
            "tags": list(case.tags), "cluster": case.metadata.get("cluster"),
            "trial": job.trial, "status": status,
            "scores": [s.to_dict() for s in scores],
            "score": 0.0 if status == "error" else score,
            "run": run.to_dict() if run else None,
            "input": dict(case.input), "expected": dict(case.expected),
            "cost_usd": usage.cost_usd if usage else 0.0,
            "tokens": usage.total_tokens if usage else 0,
            "latency_s": run.latency_s if run else 0.0,
            "judge_cost_usd": sum(float(s.details.get("judge_cost_usd", 0.0)) for s in scores),
            # "error" is for infrastructure/agent errors; a failed eval's message is "failure"
            "error": error if status == "error" else None,
            "failure": error if status == "fail" else None,
        }

    def record(self, row: Mapping[str, Any]) -> None:
        from passline.records import RunWriter

        name = str(row["variant"])
        ref = f"{row.get('dataset')}@{row.get('dataset_version')}"
        if ref not in self._fingerprints:  # e.g. on the xdist controller, which never collects
            try:
                self.cases(ref)
            except Exception:  # provenance is best effort; the row itself is complete
                self._fingerprints[ref] = {"name": row.get("dataset"),
                                           "version": row.get("dataset_version")}
        writer = self._writers.get(name)
        if writer is None:
            variant = next((v for v in self.variants if v.name == name),
                           Variant(name, "?", "?"))
            writer = self._writers[name] = RunWriter(
                self.run_root / self.run_id(variant), self.manifest(variant))
        calls = row.get("_calls")
        if calls:
            writer.write_calls(
                {"run_key": row.get("run_key"), "case_id": row.get("case_id"),
                 "dataset": row.get("dataset"), "dataset_version": row.get("dataset_version"),
                 "trial": row.get("trial"), **call} for call in calls)
            row = {k: v for k, v in row.items() if k != "_calls"}
        writer.write(row)
        if row.get("status") == "error":
            self._errors.append({"case_id": row.get("case_id"), "error": row.get("error")})

    def variant_rows(self, name: str) -> list[dict[str, Any]]:
        """Summary fields of the rows recorded for variant ``name`` (held by its writer)."""
        writer = self._writers.get(name)
        return writer.rows if writer is not None else []

    def error_rows(self) -> list[dict[str, Any]]:
        """Rows of this session whose agent run ended in error (an outage, a crash)."""
        return list(self._errors)

    @property
    def run_root(self) -> Path:
        path = Path(self.settings.run_dir)
        return path if path.is_absolute() else self.root / path

    def run_id(self, variant: Variant) -> str:
        shard = f"-shard{self.shard[0]}of{self.shard[1]}" if self.shard else ""
        return f"{self.session_id}-{variant.name}{shard}"

    def manifest(self, variant: Variant) -> dict[str, Any]:
        from passline import __version__
        from passline.records._write import git_sha

        return {
            "run_id": self.run_id(variant), "variant": variant.to_dict(),
            "passline_version": __version__, "git_sha": git_sha(self.root),
            "datasets": {ref: info for ref, info in self._fingerprints.items()},
            "settings": self.settings.public_dict(), "shard": list(self.shard or ()) or None,
            "prompts": _prompt_snapshot(variant.prompts, self.root),
        }

    def finish(self) -> dict[str, dict[str, Any]]:
        """Close writers (totals into manifests); returns {variant: manifest}."""
        out = {}
        for name, writer in self._writers.items():
            writer.manifest["datasets"] = dict(self._fingerprints)
            extra: dict[str, Any] = {"timings": {
                "session_wall_s": round(time.perf_counter() - self._t0, 3),
                "runs_wall_s": round(self._runner.progress.wall_s, 3) if self._runner else None,
                "runs": self._runner.progress.done if self._runner else 0}}
            extra.update(self.process_summary(merged=True))
            prompts = (extra.pop("captured_prompts", None) or {}).get(name)
            if prompts:
                extra["captured_prompts"] = prompts
            trials = [int(r.get("trial") or 0) for r in writer.rows]
            extra["trials"] = max(trials) + 1 if trials else 0
            out[name] = writer.finish(**extra)
            out[name]["_path"] = str(writer.dir)
        self.summaries = out
        return out

    def process_summary(self, *, merged: bool = False) -> dict[str, Any]:
        """Model calls by purpose (agent / judge), cache counters and judge calibrations of
        this process -- plus, on the xdist controller, of every worker (``merged``). Model
        calls are for the whole session (all variants); per-variant cost is in the totals."""
        summaries = [*self.worker_summaries] if merged else []
        if self._runner is not None and self._runner._client is not None:
            client = self._runner._client
            summaries.append({
                "session_model_calls": {k: v.to_dict()
                                        for k, v in client.usage_by_purpose.items()},
                "cache": {"mode": client.cache.mode, "hits": client.cache.hits,
                          "misses": client.cache.misses},
                "judges": self.judges(),
                "captured_prompts": self.capture.ledgers()})
        from passline._types import Usage
        from passline.capture import PromptLedger

        calls: dict[str, Usage] = {}
        cache: dict[str, Any] = {}
        judges: dict[str, Any] = {}
        ledgers: dict[str, list[dict[str, Any]]] = {}
        for s in summaries:
            for variant, ledger in (s.get("captured_prompts") or {}).items():
                ledgers.setdefault(variant, []).append(ledger)
            for purpose, usage in (s.get("session_model_calls") or {}).items():
                calls[purpose] = calls.get(purpose, Usage()) + Usage.from_dict(usage)
            for key, value in (s.get("cache") or {}).items():
                cache[key] = value if key == "mode" else cache.get(key, 0) + value
            judges.update(s.get("judges") or {})
        out: dict[str, Any] = {}
        if calls:
            out["session_model_calls"] = {k: v.to_dict() for k, v in calls.items()}
        if cache:
            out["cache"] = cache
        if judges:
            out["judges"] = judges
        if ledgers:
            out["captured_prompts"] = {v: PromptLedger.merge(parts)
                                       for v, parts in ledgers.items()}
        return out

    def judges(self) -> dict[str, Any]:
        """Calibration of every judge used in this session (shown next to its scores)."""
        out: dict[str, Any] = {}
        for spec in self.specs:
            for scorer in spec.scorers:
                summary = getattr(scorer, "calibration_summary", None)
                if summary is not None:
                    data = summary()
                    if data:
                        out[str(data.get("rubric", getattr(scorer, "__name__", "judge")))] = data
        return out

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            shutil.rmtree(self._runner.workdir, ignore_errors=True)
        self.capture.deactivate()


def _prompt_snapshot(version: str, root: Path) -> dict[str, str]:
    """The prompt files of a version (for the report's prompt diff), when the repo has them."""
    prompts = root / "agents" / "prompts"
    if not prompts.is_dir():
        return {}
    files = {}
    for path in sorted(prompts.glob(f"*/{version}.j2")) + sorted(
            prompts.glob(f"tools/{version}.json")):
        files[str(path.relative_to(prompts))] = path.read_text(encoding="utf-8")
    return files


def _call_text(name: str, arguments: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(arguments.items())
                     if k != "idempotency_key")
    return f"{name}({args})"


def failure_report(case: Case, run: AgentRun | None, failed: Sequence[Score], head: str) -> str:
    """What a developer needs to see when an eval fails: the input, each failing score's
    explanation, and a diff of expected vs actual tool calls (``-`` expected, ``+`` got)."""
    import difflib

    message = case.input.get("message")
    shown = message if isinstance(message, str) else json.dumps(dict(case.input), default=str)
    lines = [f"{case.ref}: {head}", f"  input:  {shown[:300]}"]
    for score in failed:
        lines.append(f"  x {score.name} ({score.value:.2f}): {score.explanation}")
    expected = case.expected.get("tool_calls")
    if run is not None and isinstance(expected, list) and expected:
        want = [_call_text(str(c.get("name")), c.get("arguments") or {}) for c in expected
                if isinstance(c, Mapping)]
        got = [_call_text(t.name, t.arguments) for t in run.tool_calls]
        diff = [d for d in difflib.ndiff(want, got) if not d.startswith("?")]
        lines.append("  tool calls (- expected, + got):")
        lines += [f"    {d}" for d in diff] or ["    (none on either side)"]
    elif run is not None and case.expected.get("trajectory"):
        lines.append(f"  trajectory expected: {list(case.expected['trajectory'])}")
        lines.append(f"  trajectory got:      {run.tool_names}")
    if run is not None:
        status = f" [{run.status}{': ' + run.guardrail if run.guardrail else ''}]"
        lines.append(f"  answer{status}: {run.answer[:400]!r}")
        if run_failed(run):
            lines.append("  " + run_error_report(run, "short").replace("\n", "\n  "))
    return "\n".join(lines)


async def _prepare(prepare: Callable[..., Any], run: AgentRun, *, case: Case, client: Any,
                   trial: int) -> Any:
    return await prepare(run, case, client=client, trial=trial)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as exc:
        raise ConfigError(f"--passline-shard {text!r} is not I/N (e.g. 1/4)") from exc
    if not 1 <= index <= count:
        raise ConfigError(f"--passline-shard {text!r}: I must be within 1..N")
    return index, count


def run_error_report(run: AgentRun, tbstyle: str = "auto") -> str:
    """Why an agent run failed, for pytest: the agent's own traceback (its frames, not
    passline's) in the detail pytest's ``--tb`` asks for: ``no`` the status only, ``line``
    one ``file:line: error`` line, ``short``/``native`` the frames, ``auto``/``long`` the
    frames with the lines around each."""
    head = f"agent run ended with status {run.status}: {run.error}"
    tb = str(run.metadata.get("traceback") or "")
    if not tb or tbstyle == "no":
        return head
    frames = _frames(tb)
    if tbstyle == "line":
        last = frames[-1] if frames else None
        return f"{last[0]}:{last[1]}: {run.error}" if last else head
    if tbstyle in ("long", "auto"):
        tb = _with_context(tb, frames)
    return f"{head}\n{tb}"


def _frames(tb: str) -> list[tuple[str, int]]:
    import re

    return [(m.group(1), int(m.group(2)))
            for m in re.finditer(r'^  File "([^"]+)", line (\d+)', tb, re.MULTILINE)]


def _with_context(tb: str, frames: Sequence[tuple[str, int]], around: int = 2) -> str:
    """The traceback with ``around`` source lines above each frame's line (``>`` marks it)."""
    import linecache

    out: list[str] = []
    lines = tb.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        match = _frames(line + "\n")
        if match:
            path, lineno = match[0]
            source = [(n, linecache.getline(path, n).rstrip()) for n in
                      range(max(1, lineno - around), lineno + 1)]
            if any(text for _, text in source):
                out += [f"    {'>' if n == lineno else ' '} {n:4} {text}" for n, text in source]
                i += 1  # the frame's own source (and caret) lines are replaced by the context
                while i < len(lines) and lines[i].startswith("    "):
                    i += 1
                continue
        i += 1
    return "\n".join(out)


def row_json(row: Mapping[str, Any]) -> str:
    return json.dumps(row, default=str)


def run_failed(run: AgentRun) -> bool:
    return run.status in (RunStatus.ERROR, RunStatus.TIMEOUT)
