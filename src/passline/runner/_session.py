"""What the pytest plugin drives: one eval session (datasets, variants, jobs, records).

Kept out of ``plugin.py`` so the hooks stay thin and this logic is testable on its own.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
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
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from passline._atomic import make_dirs
from passline._paths import inside
from passline._types import AgentRun, Case, RunStatus, Score, Variant
from passline.errors import ConfigError, InfrastructureError, ScorerError
from passline.runner import Job, Runner, _threads
from passline.settings import Settings

if TYPE_CHECKING:
    from passline.runner._resume import ResumePlan

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.sqlite"


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
        if not isinstance(values["dataset"], str) or not values["dataset"].strip():
            raise ConfigError(f"{where}: the dataset must be a non-empty string such as "
                              f"'tools-unit@v2', got {values['dataset']!r}")
        trials = values.get("trials")
        if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                                   or trials < 1):
            raise ConfigError(f"{where}: trials must be an integer >= 1, got {trials!r}")
        threshold = values.get("threshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, int | float) or not 0.0 <= threshold <= 1.0):
            raise ConfigError(f"{where}: threshold must be a number within 0..1 (the mean "
                              f"score needed to pass), got {threshold!r}")
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


class Batch:
    """The parameter behind an item that runs several cases of one eval and variant
    (``cases_per_item`` > 1): each case still gets its own run, scores and row. ``params``
    shrinks when a shard or a resume leaves some of its cases out."""

    __slots__ = ("params",)

    def __init__(self, params: list[Param]) -> None:
        self.params = params

    @property
    def id(self) -> str:
        first, last = self.params[0].job, self.params[-1].job
        return f"{first.case.ref}:t{first.trial}..{last.case.id}:t{last.trial}"

    def __repr__(self) -> str:
        return self.id


def batched(params: list[tuple[str, Param]], size: int, prefixed: bool
            ) -> list[tuple[str, Batch]]:
    """``params`` (in order) as items of up to ``size`` cases each, one variant per item."""
    by_variant: dict[str, list[Param]] = {}
    for _, param in params:
        by_variant.setdefault(param.job.variant.name, []).append(param)
    out: list[tuple[str, Batch]] = []
    for name, group in by_variant.items():
        for start in range(0, len(group), size):
            batch = Batch(group[start:start + size])
            out.append(((f"{name}:" if prefixed else "") + batch.id, batch))
    return out


class EvalSession:
    """Settings, variants, datasets, the runner and the run writers of one pytest session."""

    def __init__(self, settings: Settings, *, root: Path, variants: Sequence[Variant],
                 trials_override: int | None = None, shard: tuple[int, int] | None = None,
                 worker: bool = False, session_id: str | None = None,
                 resume: ResumePlan | None = None, args: Sequence[str] = (),
                 invocation_dir: str | None = None) -> None:
        if settings.cache != "off" and not Path(settings.cache_path).is_absolute():
            settings = dataclasses.replace(settings, cache_path=str(root / settings.cache_path))
        if settings.cache == "replay" and not Path(settings.cache_path).exists():
            raise ConfigError(f"--passline-cache replay: no recorded responses at "
                              f"{settings.cache_path}; record them first with "
                              "--passline-cache rw (or set cache_path)")
        if resume is not None:  # the resumed session's own variants, trials and shard
            variants, trials_override, shard = resume.variants, resume.trials_override, \
                resume.shard
            session_id = resume.session_id
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
        # unique even for sessions started in the same second (CI matrices, two terminals);
        # xdist workers get the controller's, so they share its call journal
        self.session_id = session_id or new_session_id()
        self.resume = resume
        self.args = tuple(args)
        self.invocation_dir = invocation_dir
        self.planned: Counter[str] = Counter()  # items generated per variant (before -k etc.)
        self.skipped: Counter[str] = Counter()  # skipped items (they write no row)
        self.notes: list[str] = []  # lines for the terminal summary (outages, stuck calls)
        self.journal: Any = None
        self._wedged = ""  # why items can no longer get their runs (a blocked event loop)
        self.summaries: dict[str, dict[str, Any]] = {}
        self.specs: list[EvalSpec] = []
        self.verdict_text = ""
        self.worker_summaries: list[dict[str, Any]] = []  # sent by xdist workers
        self._errors: list[dict[str, Any]] = []
        self._started: set[int] = set()
        # items started but not yet given their run, per job (two evals of one dataset
        # share a run); at zero the runner forgets the run (see Runner.release)
        self._waiting: Counter[str] = Counter()
        self._agents: dict[str, Any] = {}
        self._shard_index: dict[str, int] | None = None
        self._all_refs: set[str] = set()
        self._t0 = time.perf_counter()
        check_outputs(self.settings, self.run_root)
        if not worker:
            check_endpoints(self.settings, self.variants)
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
                    from passline.golden._layout import declared_sampling_unit

                    unit = declared_sampling_unit(parsed.path)
                    if unit:  # read by compare: clusters are the sampling unit only if declared
                        info["sampling_unit"] = unit
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
                    self.planned[variant.name] += 1
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
            make_dirs(workdir)  # agents' state (world copies, journals): private by default
            self.journal = self.open_journal()
            self._runner = Runner(self.settings, workdir=workdir, capture=self.capture,
                                  journal=self.journal)
        return self._runner

    @property
    def journal_path(self) -> Path:
        """In the run dir of the session's first variant (one journal per session: the
        client is shared by every variant, and request keys name the model)."""
        return inside(self.run_root, self.run_id(self.variants[0]), JOURNAL_NAME)

    def open_journal(self) -> Any:
        """The session's call journal (kept until its runs complete; see models._journal)."""
        from passline.models import CallJournal

        try:
            return CallJournal(self.journal_path)
        except (OSError, ConfigError) as exc:  # a journal only saves money on a resume
            log.warning("no call journal for this session (%s); a resumed run would repeat "
                        "its model calls", exc)
            return None

    def start(self, params: Iterable[Param]) -> int:
        """Start every run (and every scorer's async preparation, e.g. judge calls)."""
        params = list(params)
        if params and not self.worker:
            self.open_records()
        if params and self.settings.cache != "replay":  # replayed runs never reach a model
            self.warm_up()
        n = 0
        for param in params:
            if id(param) in self._started:
                continue
            self._started.add(id(param))
            self._waiting[param.job.key] += 1
            prepares = [getattr(scorer, "aprepare", None) for scorer in param.spec.scorers]
            self.runner.enqueue(param.job, then=[
                functools.partial(_prepare, prepare, case=param.job.case,
                                  client=self.runner.client, trial=param.job.trial)
                for prepare in prepares if prepare is not None])
            n += 1
        return n

    def warm_up(self) -> None:
        """Import the HTTP client and resolve every variant's endpoint (starting the
        simulator if needed) before the first run, so the first wave of runs does not queue
        behind one-time start-up work on the runner's loop."""
        import httpx2  # noqa: F401  (the import is the point)

        client = self.runner.client
        for variant in self.variants:
            try:
                client.endpoint(variant.model)
            except Exception:  # a missing key etc. is reported by the run that needs it
                log.debug("endpoint for %s not ready", variant.model, exc_info=True)

    def wait(self, param: Param) -> AgentRun:
        """This item's run. Runs end within run_timeout_s; if one does not (an ``async def``
        agent blocking the event loop stalls every run), the item fails after a margin, and
        when the runner's loop no longer answers, every later item fails at once."""
        if self._wedged:
            raise InfrastructureError(self._wedged)
        future = self.runner.submit(param.job)
        limit = self.settings.run_timeout_s + 60
        # a healthy loop times a run out at run_timeout_s; one that cannot even do that
        # for this long is blocked
        step = min(limit, self.settings.run_timeout_s + 5)
        waited = 0.0
        while True:
            try:
                run = future.result(timeout=step)
            except concurrent.futures.TimeoutError:
                waited += step
            else:
                self._handed_over(param.job)
                return run
            if not self.runner.responsive():
                self._wedged = (
                    "the runner's event loop is blocked (an async agent, scorer or judge "
                    "calls blocking code such as time.sleep or requests inside `async def`); "
                    "the remaining items cannot run: make that code async, or make the agent a "
                    "plain `def` so it runs in its own thread")
                raise InfrastructureError(self._wedged)
            if waited >= limit:
                raise InfrastructureError(f"{param.job.case.ref}: no result {limit:g}s after it "
                                          "was awaited (run_timeout_s + 60 s)")

    def _handed_over(self, job: Job) -> None:
        left = self._waiting[job.key] - 1
        if left > 0:
            self._waiting[job.key] = left
            return
        self._waiting.pop(job.key, None)
        self.runner.release(job)

    def score(self, param: Param, run: AgentRun) -> list[Score]:
        """The eval's scorers on ``run``, in a thread that is abandoned if it gets stuck
        (bounded by run_timeout_s, like the run itself)."""
        from passline.scoring import evaluate

        case = param.job.case
        if not param.spec.scorers:  # nothing that could get stuck: no thread
            return []
        timeout = self.settings.run_timeout_s
        try:
            return list(_threads.run_blocking(evaluate, run, case, list(param.spec.scorers),
                                              timeout_s=timeout, name="scorer"))
        except TimeoutError:
            raise ScorerError(f"scoring case {case.ref} did not finish within run_timeout_s="
                              f"{timeout:g}s (a scorer or judge is stuck); it was abandoned",
                              case_ref=case.ref) from None

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
            writer = self.open_record(variant)
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

    def open_records(self) -> None:
        """Create (or, resuming, reopen) the record of every variant with planned items, so
        that a session killed before its first result still leaves a record to resume."""
        for variant in self.variants:
            if self.planned[variant.name] and variant.name not in self._writers:
                self.open_record(variant)

    def open_record(self, variant: Variant) -> Any:
        from passline.records import RunWriter
        from passline.runner._resume import is_outage_row

        resuming = self.resume is not None and variant.name in self.resume.runs
        writer = self._writers[variant.name] = RunWriter(
            inside(self.run_root, self.run_id(variant)), self.manifest(variant),
            resume=resuming, drop=is_outage_row if resuming else None)
        return writer

    def variant_tally(self, name: str) -> Any:
        """Running figures of every row recorded for variant ``name`` (a ``RowTally``),
        or None before its record is open."""
        writer = self._writers.get(name)
        return writer.tally if writer is not None else None

    def variant_groups(self, name: str) -> dict[str, Any]:
        """Figures of the rows recorded for variant ``name``, per dataset and slice
        (``{group: RowTally}``, kept by its writer as rows stream to disk)."""
        writer = self._writers.get(name)
        return dict(writer.groups) if writer is not None else {}

    def error_rows(self) -> list[dict[str, Any]]:
        """Rows of this session whose agent run ended in error (an outage, a crash)."""
        return list(self._errors)

    @property
    def run_root(self) -> Path:
        path = Path(self.settings.run_dir)
        return path if path.is_absolute() else self.root / path

    def run_id(self, variant: Variant) -> str:
        from passline.runner._resume import run_id

        return run_id(self.session_id, variant.name, self.shard)

    def manifest(self, variant: Variant) -> dict[str, Any]:
        from passline import __version__
        from passline.records._write import git_sha

        return {
            "run_id": self.run_id(variant), "variant": variant.to_dict(),
            "passline_version": __version__, "git_sha": git_sha(self.root),
            "datasets": {ref: info for ref, info in self._fingerprints.items()},
            "settings": self.settings.public_dict(), "shard": list(self.shard or ()) or None,
            "prompts": _prompt_snapshot(variant.prompts, self.root),
            "session": self.session_block(),
        }

    def session_block(self) -> dict[str, Any]:
        """What ``--passline-resume`` needs to rebuild this session (in every manifest)."""
        planned = dict(self.planned)
        if self.resume is not None:  # never less than the session first planned
            for name, n in self.resume.planned.items():
                planned[name] = max(planned.get(name, 0), n)
        return {"id": self.session_id, "variants": [v.to_dict() for v in self.variants],
                "trials_override": self.trials_override,
                "shard": list(self.shard) if self.shard else None,
                "planned_items": planned, "args": list(self.args),
                "invocation_dir": self.invocation_dir}

    def finish(self, *, stop_reason: str | None = None) -> dict[str, dict[str, Any]]:
        """Close writers (totals and completion into manifests); returns {variant: manifest}.

        ``stop_reason``: why the session stopped before its end (Ctrl-C, SIGTERM, -x...);
        its runs are then ``interrupted``, never ``complete``."""
        from passline.records._write import completion

        if self.resume is not None and not self.worker and self._started:
            for variant in self.variants:  # a resume that ran nothing still finalises
                if variant.name in self.resume.runs and variant.name not in self._writers:
                    self.open_record(variant)
        down = self.down_endpoints()
        if down and not stop_reason:
            stop_reason = f"endpoint down: {', '.join(sorted(down))}"
        for message in down.values():
            self.notes.append(f"passline: {message}")
        planned = self.planned_items()
        out = {}
        states = []
        for name, writer in self._writers.items():
            accounted = writer.n_rows + self.skipped[name]
            wanted = planned.get(name, 0)
            if stop_reason:
                state, reason = "interrupted", stop_reason
            elif accounted >= wanted:
                state, reason = "complete", ""
            elif self.shard is not None:
                state, reason = "partial", f"shard {self.shard[0]}/{self.shard[1]}"
            else:
                state, reason = "partial", (f"{wanted - accounted} of {wanted} planned items "
                                            "have no result (deselected or not run)")
            states.append(state)
            writer.manifest["session"] = {**(writer.manifest.get("session") or {}),
                                          **self.session_block(), "planned_items": planned}
            writer.manifest["datasets"] = dict(self._fingerprints)
            extra: dict[str, Any] = {"timings": {
                "session_wall_s": round(time.perf_counter() - self._t0, 3),
                "runs_wall_s": round(self._runner.progress.wall_s, 3) if self._runner else None,
                "runs": self._runner.progress.done if self._runner else 0}}
            extra.update(self.process_summary(merged=True))
            prompts = (extra.pop("captured_prompts", None) or {}).get(name)
            if prompts:
                extra["captured_prompts"] = prompts
            extra["trials"] = writer.tally.max_trial + 1
            extra["completion"] = completion(state, planned=wanted, finished=writer.n_rows,
                                             reason=reason)
            out[name] = writer.finish(**extra)
            out[name]["_path"] = str(writer.dir)
            if state == "interrupted":
                self.notes.append(f"passline: run {writer.dir.name} was interrupted "
                                  f"({reason}); finish it with --passline-resume="
                                  f"{writer.dir.name} (or `passline runs resume "
                                  f"{writer.dir.name}`)")
        if states and "interrupted" not in states and not self.worker:
            self.discard_journal()  # nothing left to resume
        self.summaries = out
        return out

    def planned_items(self) -> dict[str, int]:
        """Items planned per variant: this process's collection, the xdist workers' (each
        collects everything), and what the resumed session had planned."""
        planned = dict(self.planned)
        sources = [s.get("planned_items") or {} for s in self.worker_summaries]
        if self.resume is not None:
            sources.append(self.resume.planned)
        for source in sources:
            for name, n in source.items():
                planned[name] = max(planned.get(name, 0), int(n))
        return planned

    def down_endpoints(self) -> dict[str, str]:
        """Endpoints declared down in this session (and its xdist workers): key -> why."""
        out: dict[str, str] = {}
        for summary in self.worker_summaries:
            out.update(summary.get("endpoints_down") or {})
        client = self._runner._client if self._runner is not None else None
        health = getattr(client, "health", None)
        if health is not None:
            out.update({k: str(v) for k, v in health.down.items()})
        return out

    def discard_journal(self) -> None:
        """The session's runs completed: delete its call journal and stale work dirs."""
        if self.journal is not None:
            self.journal.remove()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.journal_path}{suffix}").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the first variant may have had nothing to run
            self.journal_path.parent.rmdir()  # only if empty
        work = self.root / ".passline" / "work"
        if self.resume is not None and work.is_dir():  # left behind by the crashed session
            for stale in work.glob(f"{self.session_id}-*"):
                shutil.rmtree(stale, ignore_errors=True)

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
        if not merged:  # an xdist worker's extras for the controller
            out["planned_items"] = dict(self.planned)
            out["endpoints_down"] = self.down_endpoints()
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
        _threads.retire_idle()


def new_session_id() -> str:
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def check_endpoints(settings: Settings, variants: Sequence[Variant]) -> None:
    """A real model without its API key is a usage error now, not an error in every run.
    (Simulator models start nothing here: their server starts with the first run.)"""
    from passline.models import resolve_endpoint
    from passline.settings import is_sim_model

    for variant in variants:
        base = settings.base_url.strip()
        if base == "sim" or (not base and is_sim_model(variant.model)):
            continue
        resolve_endpoint(settings, variant.model)  # raises ConfigError naming the fix


def check_outputs(settings: Settings, run_root: Path) -> None:
    """Usage errors about where a session writes, found before anything runs: a run dir or
    cache path that is a file / directory / unwritable, a cache that is not a cache."""
    if run_root.exists() and not run_root.is_dir():
        raise ConfigError(f"run_dir {run_root} is a file, not a directory; point run_dir "
                          "(--passline-run-dir=DIR, PASSLINE_RUN_DIR) at a directory")
    existing = next((p for p in (run_root, *run_root.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"run_dir {run_root}: {existing} is a file, not a directory; point "
                          "run_dir (--passline-run-dir=DIR, PASSLINE_RUN_DIR) elsewhere")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"run_dir {run_root}: {existing} is not writable; point run_dir "
                          "(--passline-run-dir=DIR, PASSLINE_RUN_DIR) at a writable directory")
    if settings.cache == "off":
        return
    cache = Path(settings.cache_path)
    if cache.exists() and not cache.is_dir():
        from passline.models import ResponseCache

        ResponseCache(cache, settings.cache).close()  # a clear error if it is not a cache
        return
    if cache.is_dir():
        raise ConfigError(f"cache_path {cache} is a directory; point cache_path (--passline-"
                          "cache-path=FILE, PASSLINE_CACHE_PATH) at a file, e.g. "
                          ".passline/cache.sqlite")
    existing = next((p for p in cache.parents if p.exists()), None)
    if existing is not None and (not existing.is_dir() or not os.access(existing, os.W_OK)):
        raise ConfigError(f"cache_path {cache}: cannot create it under {existing} (not a "
                          "writable directory); point cache_path (--passline-cache-path=FILE, "
                          "PASSLINE_CACHE_PATH) elsewhere")


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
