"""pytest plugin entry point (pytest11). Thin: hooks translate pytest events into runner calls.

Importing this module must stay cheap (no datasets/pandas/openai/scipy): pytest loads it in
every session of every project where passline is installed. Everything heavy is imported
only once a passline eval is collected.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from passline._types import AgentRun, Case, Score, Variant
    from passline.runner._session import Batch, EvalSession, Param
    from passline.sim.server import SimServer

SESSION_KEY = pytest.StashKey["EvalSession | None"]()
SESSION_ID_KEY = pytest.StashKey[str]()
PYTEST_SESSION_KEY = pytest.StashKey[pytest.Session]()
RESTORE_KEY = pytest.StashKey["list[Any]"]()  # undo actions for pytest_unconfigure
STOPPED_BY_KEY = pytest.StashKey[str]()  # a signal that stopped the session
PARAM_KEY = pytest.StashKey["Param"]()
RUN_KEY = pytest.StashKey["AgentRun"]()
SCORES_KEY = pytest.StashKey["list[Score]"]()
BATCH_KEY = pytest.StashKey["Batch"]()  # an item running several cases (cases_per_item > 1)
BATCH_ROWS_KEY = pytest.StashKey["list[Any]"]()
BATCH_SKIPS_KEY = pytest.StashKey["list[str]"]()
ROW_ATTR = "passline_row"
SKIP_ATTR = "passline_skipped"  # a skipped eval item's variant (skips write no row)

# option -> Settings field (the [tool.passline] twin has the same name)
SETTING_OPTIONS = {
    "agent": str, "model": str, "prompts": str, "judge_model": str, "base_url": str,
    "concurrency": int, "cases_per_item": int, "cache": str, "cache_path": str,
    "run_dir": str, "temperature": float,
    "seed": int, "timeout_s": float, "run_timeout_s": float, "max_retries": int,
    "connect_timeout_s": float, "fail_fast_after": int, "shutdown_grace_s": float,
    "sim_latency_ms": float,
    "sim_faults": str,
}


class UsageExit(pytest.exit.Exception):  # type: ignore[name-defined]
    """Ends the session at configure time with exit code 2 and one ``passline: ...`` line
    (pytest prints an Exit as ``<type name>: <message>``; UsageError would exit 4)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=2)


UsageExit.__name__ = UsageExit.__qualname__ = "passline"
UsageExit.__module__ = "builtins"  # shown without a module prefix
# a message that already starts with its own location (path:line: or path: )
_LOCATED = re.compile(r"^[^\s:]+\.(py|toml|jsonl|json|md|parquet|sqlite|lock)(:\d+)?: ")


def pytest_addoption(parser: pytest.Parser) -> None:
    # Each help says what the option means, which values it takes and its default; every
    # setting option also names its [tool.passline] key and PASSLINE_* variable (CLI wins).
    meaning: dict[str, tuple[str, str, str | None]] = {
        "agent": ("the agent under test", "MODULE:FUNCTION", "the eval's own agent=, else "
                  "none"),
        "model": ("the model the agent calls (the single variant of the session)",
                  "a model id; sim-1 / sim-2 run offline on the built-in simulator", None),
        "prompts": ("the prompt version the agent renders", "a version folder name, e.g. v2", None),
        "judge_model": ("the model LLM judges call", "a model id", "same as --passline-model"),
        "base_url": ("where the model endpoint is", "a URL, or openai / ollama / vllm / "
                     "litellm / sim", "the simulator for sim-* models, else OPENAI_BASE_URL or "
                     "the OpenAI API"),
        "concurrency": ("agent runs in flight at once", "an integer >= 1", None),
        "cases_per_item": ("golden cases one pytest item runs; each case still gets its own "
                           "run, scores and row (pytest keeps ~5 KB per item all session: "
                           "batch datasets of 10,000s of cases)", "an integer >= 1", None),
        "cache": ("record/replay of model responses (replay fails on a miss, naming the "
                  "request; for keyless CI)", "off | rw | replay", None),
        "cache_path": ("the record/replay cache file", "a path (give it with =)", None),
        "run_dir": ("where run records are written", "a directory (give it with =)", None),
        "temperature": ("sampling temperature of the agent's model calls", "a float >= 0", None),
        "seed": ("base seed; trial t uses seed + t * 1000003", "an integer", None),
        "timeout_s": ("timeout of reading one model answer, per attempt, seconds",
                      "a float > 0", None),
        "run_timeout_s": ("timeout of one agent run (case x trial x variant), seconds",
                          "a float > 0", None),
        "max_retries": ("retries of a failed model call (429, 5xx, timeouts)",
                        "an integer >= 0", None),
        "connect_timeout_s": ("timeout of opening a connection to the model endpoint, per "
                              "attempt, seconds", "a float > 0", None),
        "fail_fast_after": ("consecutive connection failures or timeouts after which an "
                            "endpoint is down and its remaining calls fail at once (exit 3)",
                            "an integer >= 0; 0 never", None),
        "shutdown_grace_s": ("how long a finished session waits for abandoned (stuck) agent "
                             "or scorer threads before the process ends anyway, seconds",
                             "a float >= 0", None),
        "sim_latency_ms": ("added latency of the built-in simulator per call (sim-* models "
                           "only)", "milliseconds", None),
        "sim_faults": ("faults the built-in simulator injects (sim-* models only; see "
                       "docs/simulator.md)", "a spec such as '503=0.1,429#2,slow'", "none"),
    }
    from passline.settings import Settings  # cheap: no heavy imports behind it

    group = parser.getgroup("passline", "passline: evaluate LLM agents on golden datasets")
    for name, kind in SETTING_OPTIONS.items():
        flag = "--passline-" + name.replace("_", "-")
        what, values, default = meaning.get(name, (f"the {name} setting", kind.__name__, None))
        if default is None:  # the real default, so the help can never drift from it
            default = str(getattr(Settings, name))
        group.addoption(flag, dest=f"passline_{name}", type=kind, default=None,
                        metavar="VALUE" if kind is str else kind.__name__.upper(),
                        help=f"{what}. Values: {values}. Default: {default} "
                        f"([tool.passline] {name}, env PASSLINE_{name.upper()}).")
    group.addoption("--passline-trials", dest="passline_trials", type=int, default=None,
                    metavar="N", help="samples per case. Values: an integer >= 1. Default: the "
                    "eval's own trials=, else [tool.passline] trials (1).")
    group.addoption("--passline-variant", dest="passline_variant", action="append", default=[],
                    metavar="NAME=MODEL:PROMPTS",
                    help="evaluate this variant; repeat for baseline and candidate (one run "
                    "record each). Values: NAME=MODEL:PROMPTS; the prompt version follows the "
                    "LAST ':', so write base=llama3:8b:v2. Default: one variant, 'candidate', "
                    "from --passline-model and --passline-prompts.")
    group.addoption("--passline-shard", dest="passline_shard", default=None, metavar="I/N",
                    help="run only shard I of N (cases split round-robin; join the records "
                    "with `passline merge`). Values: I/N with 1 <= I <= N. Default: all cases.")
    group.addoption("--passline-baseline", dest="passline_baseline", default=None,
                    metavar="PATH", help="compare against this run directory or baseline file; "
                    "the exit code becomes the gate's verdict (0 pass, 1 regression, 3 "
                    "no verdict possible: an outage or an incomplete record). Values: a path "
                    "(give it with =). Default: no gate.")
    group.addoption("--passline-resume", dest="passline_resume", default=None, metavar="RUN",
                    help="finish an interrupted or crashed run: only items without a result "
                    "run, into the same record, without repeating its model calls. Values: a "
                    "run directory or run id. Default: a new run.")
    group.addoption("--passline-allow-partial", dest="passline_allow_partial",
                    action="store_true", default=False,
                    help="gate even when a record is incomplete (interrupted, crashed, a shard "
                    "or a -k selection); the verdict names the cases that did not run. Values: "
                    "a flag. Default: off (an incomplete record exits 3).")
    group.addoption("--passline-compare", dest="passline_compare", default="auto",
                    choices=("auto", "off"),
                    help="with two or more variants, end the session by comparing each with the "
                    "first (gate, confirmation runs, report). Values: auto, off (record the "
                    "variants, exit as pytest does). Default: auto.")
    group.addoption("--passline-rerun", dest="passline_rerun", default=None,
                    help=argparse.SUPPRESS)  # confirmation trials (passline.runner._rerun)


@pytest.hookimpl(trylast=True)  # after other plugins' (pytester's recorder) are set up
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "passline(dataset, agent=None, trials=None, scorers=(), threshold=None): "
        "run the agent on every case of a golden dataset (one item per case x trial x variant)")
    config.stash[SESSION_KEY] = None
    config.stash[RESTORE_KEY] = []
    workerinput = getattr(config, "workerinput", None) or {}
    config.stash[SESSION_ID_KEY] = workerinput.get("passline_session_id") or _new_session_id()
    config.pluginmanager.register(_Recorder(config), "passline-recorder")
    config.pluginmanager.register(_Batches(), "passline-batches")
    baseline = config.getoption("passline_baseline", None)
    if baseline and not Path(baseline).exists():
        raise UsageExit(
            f"--passline-baseline {baseline}: no such run directory or baseline file; list "
            "them with `passline runs list` / `passline baseline list`")
    _check_options(config)


def _new_session_id() -> str:
    import datetime as dt
    import uuid

    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def _check_options(config: pytest.Config) -> None:
    """Mistakes in passline options given on the command line end the session before
    collection, as one line with exit code 2 (settings from pyproject.toml and the
    environment are checked when the first eval is collected)."""
    given = {name: config.getoption(f"passline_{name}") for name in SETTING_OPTIONS}
    trials = config.getoption("passline_trials")
    variants = config.getoption("passline_variant")
    shard = config.getoption("passline_shard")
    if all(v is None for v in given.values()) and trials is None and not variants \
            and shard is None:
        return  # a session that does not use passline options pays nothing here
    from passline._types import Variant
    from passline.errors import PasslineError
    from passline.runner._session import parse_shard
    from passline.settings import Settings

    try:
        if trials is not None and trials < 1:
            raise PasslineError(f"--passline-trials {trials}: trials must be >= 1")
        names = [Variant.parse(v).name for v in variants]
        if len(set(names)) != len(names):
            raise PasslineError(f"--passline-variant names must be unique, got {names}")
        parse_shard(shard)
        Settings.resolve(given, root=_project_root(config))
    except PasslineError as exc:
        raise UsageExit(str(exc)) from None


def _session(config: pytest.Config) -> EvalSession:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        from passline._types import Variant
        from passline.errors import ConfigError
        from passline.runner._session import EvalSession, parse_shard
        from passline.settings import Settings

        cli = {name: config.getoption(f"passline_{name}") for name in SETTING_OPTIONS}
        root = _project_root(config)
        settings = Settings.resolve(cli, root=root)
        variants = [Variant.parse(v) for v in config.getoption("passline_variant")] or [
            Variant("candidate", settings.model, settings.prompts)]
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ConfigError(f"--passline-variant names must be unique, got {names}")
        plan = None
        target = config.getoption("passline_resume", None)
        if target:
            from passline.runner import _resume

            run_root = Path(settings.run_dir)
            plan = _resume.plan(target, run_root if run_root.is_absolute() else root / run_root)
            if config.getoption("passline_variant") and tuple(variants) != plan.variants:
                raise ConfigError(f"--passline-resume {target}: the run's variants are "
                                  "recorded; drop --passline-variant")
            settings = _resume.reconcile(settings, plan)
        session = EvalSession(settings, root=root, variants=variants,
                              trials_override=config.getoption("passline_trials"),
                              shard=parse_shard(config.getoption("passline_shard")),
                              worker=hasattr(config, "workerinput"),
                              session_id=config.stash.get(SESSION_ID_KEY, None), resume=plan,
                              args=_resumable_args(config),
                              invocation_dir=str(config.invocation_params.dir))
        config.stash[SESSION_KEY] = session
        _take_over_process_policies(config, settings)
    return session


def _resumable_args(config: pytest.Config) -> list[str]:
    """The command line to record for `passline runs resume` (values that may hold
    credentials, like a base URL with a token, are left out: give them again)."""
    out: list[str] = []
    skip = False
    for arg in config.invocation_params.args:
        if skip:
            skip = False
            continue
        if arg.startswith(("--passline-base-url", "--passline-resume")):
            skip = "=" not in arg
            continue
        out.append(str(arg))
    return out


def _take_over_process_policies(config: pytest.Config, settings: Any) -> None:
    """Process-wide behaviour an eval session needs, undone at pytest_unconfigure: private
    file modes, and SIGTERM treated like Ctrl-C so a killed CI job still finalises its
    records as interrupted (only if nobody else handles SIGTERM)."""
    import signal
    import threading

    from passline import _atomic

    undo = config.stash[RESTORE_KEY]
    old = _atomic.set_shared_permissions(settings.shared_permissions)
    undo.append(lambda: _atomic.set_shared_permissions(old))
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def on_sigterm(signum: int, frame: Any) -> None:
            config.stash[STOPPED_BY_KEY] = "SIGTERM"
            raise KeyboardInterrupt("SIGTERM")

        signal.signal(signal.SIGTERM, on_sigterm)
        undo.append(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))


def _project_root(config: pytest.Config) -> Path:
    """Where pyproject.toml, golden/ and reports/ are: the config file's folder, else the
    invocation folder (pytest's rootdir can drift upwards when an option value is a path)."""
    if config.inipath is not None:
        return Path(config.inipath).parent
    return Path(config.invocation_params.dir)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("passline")
    if marker is None:
        return
    from passline.errors import PasslineError
    from passline.runner._session import EvalSpec

    path, lineno, _ = metafunc.definition.reportinfo()
    where = f"{_shown_path(path, metafunc.config)}:{(lineno or 0) + 1}"
    if "case" not in metafunc.fixturenames:
        raise pytest.Collector.CollectError(
            f"passline: {where}: a passline eval must take `case`, `run` or `scores` as an "
            "argument; add one to the test function")
    try:
        spec = EvalSpec.from_marker(marker.args, marker.kwargs, where)
        params = _session(metafunc.config).params(spec)
        plan_path = metafunc.config.getoption("passline_rerun", None)
        if plan_path:  # a confirmation session: only the planned trials of planned cases
            from passline.runner._rerun import read_plan, rerun_params

            # rows name an eval by its node id (not `where`, which is file:line)
            params = rerun_params(params, metafunc.definition.nodeid, read_plan(plan_path))
    except (PasslineError, OSError) as exc:
        # a usage error: one line naming the file (and line), no traceback; pytest stops the
        # session after collection ("Interrupted: 1 error during collection", exit code 2)
        raise pytest.Collector.CollectError(_usage_text(exc, where)) from None
    current = _session(metafunc.config)
    if current.settings.cases_per_item > 1:
        from passline.runner._session import batched

        _check_batchable(metafunc, where, current.settings.cases_per_item)
        batches = batched(params, current.settings.cases_per_item,
                          prefixed=len(current.variants) > 1)
        metafunc.parametrize("case", [b for _, b in batches], ids=[i for i, _ in batches],
                             indirect=True)
        return
    metafunc.parametrize("case", [p for _, p in params], ids=[i for i, _ in params],
                         indirect=True)


MANY_ITEMS = 20_000  # past this, the terminal summary suggests cases_per_item
PER_CASE = frozenset({"case", "run", "scores", "variant"})


def _check_batchable(metafunc: pytest.Metafunc, where: str, size: int) -> None:
    """An item that runs several cases calls the eval's body once per case with that case's
    `case`, `run`, `scores` and `variant`; every other fixture is set up once per item, so
    one that depends on a per-case fixture (or an async body) cannot be batched."""
    import inspect

    why = ""
    if inspect.iscoroutinefunction(metafunc.function):
        why = "the eval is `async def`; make it a plain `def` (the agent may stay async)"
    # pytest's fixture closure of this function (an internal; if it changes, no check)
    for name, defs in (getattr(metafunc, "_arg2fixturedefs", None) or {}).items():
        uses = PER_CASE.intersection(defs[-1].argnames) if defs else set()
        if not why and name not in PER_CASE and uses:
            why = (f"fixture `{name}` takes `{sorted(uses)[0]}`, so it would see only the "
                   "first case of each item; compute it in the eval's body instead")
    if why:
        raise pytest.Collector.CollectError(
            f"passline: {where}: cases_per_item = {size} runs several cases per pytest item, "
            f"but {why} -- or set cases_per_item = 1")


def _shown_path(path: Any, config: pytest.Config) -> str:
    try:
        return Path(path).resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return str(path)


def _usage_text(exc: BaseException, where: str) -> str:
    """``passline: file:line: what, and how to fix`` for an error found at collection."""
    from passline.errors import DatasetError

    text = str(exc)
    if isinstance(exc, DatasetError) and exc.path:  # it names its own file (and line)
        return f"passline: {text}"
    if isinstance(exc, OSError):
        shown = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
        text = f"{shown}: {exc.strerror or text}; check the path and its permissions"
    if text.startswith(where) or _LOCATED.match(text) or text.startswith("/"):
        return f"passline: {text}"
    return f"passline: {where}: {text}"


def _case_param(item: pytest.Item) -> Any:
    """What a passline item was parametrized with (a Param or a Batch), else None."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("case") if callspec is not None else None


def _param(item: pytest.Item) -> Param | None:
    from passline.runner._session import Param

    value = _case_param(item)
    return value if isinstance(value, Param) else None


def _batch(item: pytest.Item) -> Batch | None:
    from passline.runner._session import Batch

    value = _case_param(item)
    return value if isinstance(value, Batch) else None


def _params(item: pytest.Item) -> list[Param]:
    """The cases x trials an item runs: one, or a batch's."""
    param = _param(item)
    if param is not None:
        return [param]
    batch = _batch(item)
    return batch.params if batch is not None else []


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    current = config.stash.get(SESSION_KEY, None)
    if current is None or (current.shard is None and current.resume is None):
        return
    from passline.records._write import row_key

    def wanted(item: pytest.Item, param: Param) -> bool:
        if current.shard is not None and not current.in_shard(param):
            return False
        # resumed: a case x trial that already has its result in the record does not run
        return current.resume is None or row_key(_item_row_key(item, param)) not in \
            current.resume.finished.get(param.job.variant.name, ())

    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        param, batch = _param(item), _batch(item)
        if batch is not None:
            batch.params[:] = [p for p in batch.params if wanted(item, p)]
            (keep if batch.params else drop).append(item)
        elif param is not None and not wanted(item, param):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _item_row_key(item: pytest.Item, param: Param) -> dict[str, Any]:
    case = param.job.case
    return {"eval": item.nodeid.split("[")[0], "dataset": case.dataset,
            "dataset_version": case.version, "case_id": case.id, "trial": param.job.trial}


def pytest_collection_finish(session: pytest.Session) -> None:
    current = session.config.stash.get(SESSION_KEY, None)
    if current is None or current.worker:
        return  # under xdist, workers start runs as their items arrive
    option = session.config.option
    if option.collectonly or getattr(option, "setuponly", False) or getattr(
            option, "setupplan", False):
        return  # listing tests must never call a (paid) model
    # every run of the session starts now, in item order, bounded by the concurrency limit
    n = current.start(p for item in session.items for p in _params(item))
    if n > MANY_ITEMS and current.settings.cases_per_item == 1:
        current.notes.append(
            f"passline: {n:,} cases ran as {n:,} pytest items; pytest keeps about 5 KB per "
            f"item until the session ends (~{n * 5.5 / 1024:,.0f} MB here). cases_per_item = "
            "100 ([tool.passline], or --passline-cases-per-item) runs 100 cases per item, "
            "with the same rows")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    current = item.config.stash.get(SESSION_KEY, None)
    if current is not None and current.worker:
        # under xdist, start the runs of the items queued on this worker (up to the
        # concurrency limit) so they overlap, as they do in a single process
        upcoming = [nextitem] if nextitem is not None else []
        upcoming += _xdist_queued_items(item, current.settings.concurrency)
        current.start(p for it in [item, *upcoming] for p in _params(it))
    try:
        return (yield)
    finally:
        # pytest keeps every item to the end of the session: drop this one's run and scores
        # (they are in its row, on disk) so memory does not grow with the number of cases
        if RUN_KEY in item.stash:
            del item.stash[RUN_KEY]
        if SCORES_KEY in item.stash:
            del item.stash[SCORES_KEY]


def _xdist_queued_items(item: pytest.Item, limit: int) -> list[pytest.Item]:
    """Items xdist has already sent to this worker. Reads the worker's queue (an xdist
    internal); if its shape ever changes this returns nothing and runs start one by one."""
    for plugin in item.config.pluginmanager.get_plugins():
        queue = getattr(plugin, "torun", None)
        if queue is None or not hasattr(queue, "lock"):
            continue
        try:
            with queue.lock() as pending:
                indices = [i for i in list(pending)[:limit] if isinstance(i, int)]
            items = item.session.items
            return [items[i] for i in indices if 0 <= i < len(items)]
        except Exception:  # pragma: no cover - xdist internals changed
            return []
    return []


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Case:
    """The golden case of this item (set by ``@passline.eval`` / ``pytest.mark.passline``)."""
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the `case` fixture only exists in "
                                "passline evals; decorate the test with @passline.eval(...)")
    from passline.runner._session import Batch

    if isinstance(param, Batch):  # the body is called once per case, with that case's values
        request.node.stash[BATCH_KEY] = param
        param = param.params[0]
    request.node.stash[PARAM_KEY] = param
    return param.job.case


@pytest.fixture
def variant(case: Case, request: pytest.FixtureRequest) -> Variant:
    """The variant (model, prompts) this item evaluates."""
    return request.node.stash[PARAM_KEY].job.variant


@pytest.fixture
def run(case: Case, request: pytest.FixtureRequest) -> AgentRun:
    """The finished agent run for this case (waits only for this item's own run)."""
    from passline.runner._session import run_failed

    node = request.node
    if BATCH_KEY in node.stash:
        return None  # type: ignore[return-value]  # each case's run is given to its call
    param = node.stash[PARAM_KEY]
    result = _session(request.config).wait(param)
    node.stash[RUN_KEY] = result
    if run_failed(result) and not param.spec.allow_errors:
        from passline.runner._session import run_error_report

        pytest.fail(run_error_report(result, request.config.getoption("tbstyle", "auto")),
                    pytrace=False)
    return result


@pytest.fixture
def scores(run: AgentRun, case: Case, request: pytest.FixtureRequest) -> list[Score]:
    """The eval's scorers applied to this run."""
    if BATCH_KEY in request.node.stash:
        return []  # each case's scores are given to its call
    return _scores(request.node, run)


def _scores(node: pytest.Item, run: AgentRun) -> list[Score]:
    if SCORES_KEY not in node.stash:
        node.stash[SCORES_KEY] = _session(node.config).score(node.stash[PARAM_KEY], run)
    return node.stash[SCORES_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    param = pyfuncitem.stash.get(PARAM_KEY, None)
    if param is None or BATCH_KEY in pyfuncitem.stash:  # a batch: see _Batches
        return (yield)
    if RUN_KEY not in pyfuncitem.stash:  # the eval asked for `case` only
        pyfuncitem.stash[RUN_KEY] = _session(pyfuncitem.config).wait(param)
    run = pyfuncitem.stash[RUN_KEY]
    computed = _scores(pyfuncitem, run)  # before the body, so a failing assert keeps scores
    result = yield
    from passline.runner._session import EvalSession

    ok, why = EvalSession.verdict(param, computed, run)
    if not ok:
        pytest.fail(why, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    batch = _batch(item)
    if batch is not None:
        return _batch_report(item, call, report, batch)
    param = item.stash.get(PARAM_KEY, None)
    if param is None:
        return report
    final = call.when == "call" or (call.when == "setup" and report.failed)
    if report.skipped and (call.when == "setup" or final):
        setattr(report, SKIP_ATTR, param.job.variant.name)  # counted, so a run with skips
        return report  # is still complete; a skipped eval is not a result (xfail still is)
    if not final:
        return report
    run = item.stash.get(RUN_KEY, None)
    computed = item.stash.get(SCORES_KEY, [])
    error = None
    if report.passed:
        status = "pass"
    elif call.when == "setup" or (call.excinfo is not None and not call.excinfo.errisinstance(
            (AssertionError, pytest.fail.Exception))):
        status = "error"
        error = call.excinfo.exconly() if call.excinfo is not None else "setup failed"
    else:
        status = "fail"
        error = call.excinfo.exconly()[:2000] if call.excinfo is not None else None
    from passline.runner._session import row_json

    current = _session(item.config)
    row = current.row(item.nodeid, param, run, computed, status, error)
    # an xdist worker sends the row to the controller inside the report (JSON text); in one
    # process the dict itself is handed over, with no encode/decode round trip per item
    setattr(report, ROW_ATTR, row_json(row) if current.worker else row)
    return report


def _batch_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
                  batch: Batch) -> pytest.TestReport:
    """A batch item's report carries its cases' rows (or, in one process, an empty list:
    they were recorded as each case ended) and the variants of its skipped cases."""
    final = call.when == "call" or (call.when == "setup" and not report.passed)
    if not final:
        return report
    rows = item.stash.get(BATCH_ROWS_KEY, None)
    skips = item.stash.get(BATCH_SKIPS_KEY, [])
    if rows is None:  # no case ran: setup failed (a fixture) or skipped the whole item
        rows = []
        if report.skipped:
            skips = [p.job.variant.name for p in batch.params]
        else:
            current = _session(item.config)
            error = call.excinfo.exconly() if call.excinfo is not None else "setup failed"
            for p in batch.params:
                _keep_row(current, rows, current.row(item.nodeid, p, None, [], "error", error))
    from passline.runner._session import row_json

    setattr(report, ROW_ATTR, [row_json(r) for r in rows])
    if skips:
        setattr(report, SKIP_ATTR, list(skips))
    return report


class _Batches:
    """Runs the body of a batch item (``cases_per_item`` > 1) once per case, each with that
    case's ``case``, ``run``, ``scores`` and ``variant``, giving each case the status, error
    text and row it would have had as an item of its own. The item fails if a case does."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        batch = pyfuncitem.stash.get(BATCH_KEY, None)
        if batch is None:
            return None
        current = _session(pyfuncitem.config)
        rows: list[Any] = []
        skips: list[str] = []
        pyfuncitem.stash[BATCH_ROWS_KEY] = rows  # kept so far, should a case interrupt it
        pyfuncitem.stash[BATCH_SKIPS_KEY] = skips
        base = {arg: pyfuncitem.funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
        bad: list[tuple[Param, str, str]] = []
        for param in batch.params:
            pyfuncitem.stash[PARAM_KEY] = param
            outcome = _run_case(pyfuncitem, current, param, base)
            if outcome is None:
                skips.append(param.job.variant.name)
                continue
            row = current.row(pyfuncitem.nodeid, param, *outcome)
            if outcome[2] != "pass":
                bad.append((param, outcome[2], outcome[3] or ""))
            _keep_row(current, rows, row)
        if bad:
            tbstyle = pyfuncitem.config.getoption("tbstyle", "auto")
            shown = bad if tbstyle == "long" else bad[:10]
            lines = [f"{len(bad)} of {len(batch.params)} cases did not pass (each has its "
                     "own row in the run record):"]
            for param, status, text in shown:
                lines.append(f"--- {param.id} [{status}]\n{text.strip()[:1500]}")
            if len(shown) < len(bad):
                lines.append(f"... {len(bad) - len(shown)} more (--tb=long lists every "
                             "case; the report and `passline runs show` list them too)")
            pytest.fail("\n".join(lines), pytrace=False)
        if batch.params and len(skips) == len(batch.params):
            pytest.skip(f"all {len(skips)} cases of this item skipped")
        return True


def _keep_row(current: EvalSession, rows: list[Any], row: dict[str, Any]) -> None:
    """In one process a batch's row is recorded now (an interrupted batch keeps its finished
    cases); an xdist worker keeps it for its report, which the controller records."""
    if current.worker:
        rows.append(row)
    else:
        current.record(row)


def _run_case(item: pytest.Function, current: EvalSession, param: Param,
              base: dict[str, Any]) -> tuple[AgentRun | None, list[Score], str, str | None] | None:
    """(run, scores, status, error text) of one case of a batch, as its own item would have
    recorded them; None if the body skipped it."""
    import traceback

    from passline.errors import PasslineError
    from passline.runner._session import run_error_report, run_failed

    def text(exc: BaseException) -> str:  # what pytest's ExceptionInfo.exconly() gives
        return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()

    run: AgentRun | None = None
    computed: list[Score] = []
    try:
        run = current.wait(param)
    except (PasslineError, OSError) as exc:  # an outage, a blocked loop: an error row
        return None, [], "error", text(exc)
    if run_failed(run) and not param.spec.allow_errors:
        report = run_error_report(run, item.config.getoption("tbstyle", "auto"))
        return run, [], "error", text(pytest.fail.Exception(report, pytrace=False))
    try:
        computed = current.score(param, run)
        values = {"case": param.job.case, "run": run, "scores": computed,
                  "variant": param.job.variant}
        item.obj(**{arg: values.get(arg, value) if arg in PER_CASE else value
                    for arg, value in base.items()})
        from passline.runner._session import EvalSession

        ok, why = EvalSession.verdict(param, computed, run)
        if not ok:
            raise pytest.fail.Exception(why, pytrace=False)
    except pytest.skip.Exception:
        return None
    except (AssertionError, pytest.fail.Exception) as exc:
        return run, computed, "fail", text(exc)[:2000]
    except Exception as exc:
        return run, computed, "error", text(exc)
    return run, computed, "pass", None


class _Recorder:
    """Writes result rows as reports arrive: in a plain session, or on the xdist controller
    (workers attach rows to their reports; only the controller writes records)."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: a worker finished; keep its model-call, cache and judge summary."""
        data = (getattr(node, "workeroutput", None) or {}).get("passline")
        if data:
            _session(self.config).worker_summaries.append(json.loads(data))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: workers use the controller's session id (one call journal, one record)."""
        node.workerinput["passline_session_id"] = self.config.stash[SESSION_ID_KEY]

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.other_failures = 0  # failures of plain tests, which no gate verdict excuses
        self.usage_errors = 0  # passline usage errors found while collecting

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and str(report.longrepr).startswith("passline: "):
            self.usage_errors += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        skipped = getattr(report, SKIP_ATTR, None)
        if skipped and not hasattr(self.config, "workerinput"):
            for variant in [skipped] if isinstance(skipped, str) else skipped:
                _session(self.config).skipped[variant] += 1
        data = getattr(report, ROW_ATTR, None)
        if data is None and report.failed and not hasattr(self.config, "workerinput"):
            self.other_failures += 1  # eval results always carry a row; this is not one
        if data is None or hasattr(self.config, "workerinput"):
            return
        current = _session(self.config)
        # one row, or a batch's rows (an empty list: its rows were recorded as cases ended)
        for one in data if isinstance(data, list) else [data]:
            current.record(one if isinstance(one, dict) else json.loads(one))
        delattr(report, ROW_ATTR)  # recorded; pytest's terminal keeps every report to the end
        from passline.runner._terminal import progress_line

        line = progress_line(current)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if line and reporter is not None:  # (xdist workers' progress is not visible here)
            if getattr(reporter._tw, "width_of_current_line", 0):
                reporter._tw.line()  # after a row of progress dots
            reporter.write_line(line)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[PYTEST_SESSION_KEY] = session


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = session.config.pluginmanager.get_plugin("passline-recorder")
    if getattr(recorder, "usage_errors", 0) and session.exitstatus == 1:
        session.exitstatus = 2  # xdist reports workers' collection errors as failures
    current = session.config.stash.get(SESSION_KEY, None)
    if current is None:
        return
    try:
        if hasattr(session.config, "workerinput"):  # hand this worker's counters over
            session.config.workeroutput["passline"] = json.dumps(  # type: ignore[attr-defined]
                current.process_summary(), default=str)
            return
        current.finish(stop_reason=_stop_reason(session, exitstatus))
        if current.summaries and not session.config.getoption("passline_rerun", None):
            session.exitstatus = _gated_exit_status(session, current, exitstatus)
        if current.down_endpoints() and session.exitstatus in (0, 1):
            session.exitstatus = 3  # an outage is an infrastructure error, never a verdict
        _note_stuck_calls(current)
    finally:
        current.close()


def _stop_reason(session: pytest.Session, exitstatus: int) -> str | None:
    """Why the session stopped before running everything, if it did (its runs are then
    recorded as interrupted, never complete)."""
    signal_name = session.config.stash.get(STOPPED_BY_KEY, None)
    if signal_name:
        return f"stopped by {signal_name}"
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted (Ctrl-C)"
    if session.shouldfail:
        return f"stopped early: {session.shouldfail} (-x / --maxfail)"
    if session.shouldstop:
        return f"stopped early: {session.shouldstop}"
    return None


def _note_stuck_calls(current: EvalSession) -> None:
    from passline.runner import _threads

    stuck = _threads.stuck()
    if stuck:
        current.notes.append(
            f"passline: {len(stuck)} stuck call(s) were abandoned after run_timeout_s (first: "
            f"{stuck[0]}); the process ends at most shutdown_grace_s="
            f"{current.settings.shutdown_grace_s:g}s after the session")
        _threads.set_exit_policy(grace_s=current.settings.shutdown_grace_s)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(PYTEST_SESSION_KEY, None)
    if session is not None and config.stash.get(SESSION_KEY, None) is not None:
        from passline.runner import _threads

        _threads.set_exit_policy(code=int(session.exitstatus))
    undos: list[Any] = config.stash.get(RESTORE_KEY, [])
    for undo in reversed(undos):
        undo()


def _gated_exit_status(session: pytest.Session, current: EvalSession, exitstatus: int) -> int:
    """The session's exit code (docs/plugin.md, "Exit codes"). With a comparison (two or more
    variants, or --passline-baseline) it is the gate's: 0 pass, 1 regression, 3 no verdict
    possible; without one, pytest's own. A total outage is 3 either way, and a failing plain
    (non-eval) test always gives at least 1."""
    from passline.errors import ExitCode, PasslineError
    from passline.runner._session_gate import gate_session, not_run

    config = session.config
    baseline = config.getoption("passline_baseline")
    comparing = bool(baseline) or (len(current.summaries) > 1
                                   and config.getoption("passline_compare") != "off")
    errored = current.error_rows()
    tallies = [current.variant_tally(name) for name in current.summaries]
    n_rows = sum(t.n for t in tallies if t is not None)
    if errored and len(errored) == n_rows and exitstatus in (0, 1):
        first = errored[0]
        return not_run(current, f"every agent run ({n_rows}) ended in error: an outage, not "
                       f"an eval result. First: {first.get('case_id')}: "
                       f"{str(first.get('error'))[:300]}", ExitCode.INFRASTRUCTURE_ERROR)
    if not comparing:
        return exitstatus
    interrupted = [Path(m["_path"]).name for m in current.summaries.values()
                   if (m.get("completion") or {}).get("state") == "interrupted"]
    if exitstatus == pytest.ExitCode.INTERRUPTED and interrupted:
        # Ctrl-C / SIGTERM after runs started: incomplete evidence (3), not pytest's 2, which
        # passline uses for usage errors (docs/plugin.md, "Exit codes")
        return not_run(current, f"the session was interrupted, so run(s) {', '.join(interrupted)} "
                       "are incomplete; finish them with --passline-resume=RUN, then compare",
                       ExitCode.INFRASTRUCTURE_ERROR)
    if exitstatus not in (0, 1):  # usage and internal errors keep their code
        current.verdict_text = (f"passline gate: NOT RUN -- the session ended with pytest "
                                f"exit code {exitstatus} (interrupted or failed to start)")
        return exitstatus
    allow_partial = bool(config.getoption("passline_allow_partial"))
    if (session.shouldstop or session.shouldfail) and not allow_partial:
        return not_run(current, "the session stopped early (-x or --maxfail), so its records "
                       "are incomplete; re-run without it, or pass --passline-allow-partial",
                       ExitCode.INFRASTRUCTURE_ERROR)
    if errored:
        first = errored[0]
        return not_run(current, f"{len(errored)} agent run(s) ended in error, so the comparison "
                       "would judge an outage as a regression (or a pass). First: "
                       f"{first.get('case_id')}: {str(first.get('error'))[:300]}",
                       ExitCode.INFRASTRUCTURE_ERROR)
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"passline: {line}")

    try:
        code = gate_session(current, baseline=baseline, allow_partial=allow_partial, say=say)
    except PasslineError as exc:
        return not_run(current, str(exc), exc.exit_code)
    recorder = config.pluginmanager.get_plugin("passline-recorder")
    other_failures = getattr(recorder, "other_failures", 0)
    return max(code, 1 if other_failures else 0)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    current = config.stash.get(SESSION_KEY, None)
    if current is None or hasattr(config, "workerinput") or not current.summaries:
        return
    from passline.runner._terminal import summary

    summary(current, terminalreporter)


@pytest.fixture(scope="session")
def passline_sim() -> Iterator[SimServer]:
    """A simulator server on 127.0.0.1 for this test session (``.base_url``, ``.stats()``)."""
    from passline.sim.server import SimServer

    with SimServer() as server:
        yield server


@pytest.fixture(scope="session")
def passline_sim_url(passline_sim: SimServer) -> str:
    """The simulator's OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
    return passline_sim.base_url
