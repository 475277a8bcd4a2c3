"""pytest plugin entry point (pytest11). Thin: hooks translate pytest events into runner calls.

Importing this module must stay cheap (no datasets/pandas/openai/scipy): pytest loads it in
every session of every project where passline is installed. Everything heavy is imported
only once a passline eval is collected.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from passline._types import AgentRun, Case, Score, Variant
    from passline.runner._session import EvalSession, Param
    from passline.sim.server import SimServer

SESSION_KEY = pytest.StashKey["EvalSession | None"]()
PARAM_KEY = pytest.StashKey["Param"]()
RUN_KEY = pytest.StashKey["AgentRun"]()
SCORES_KEY = pytest.StashKey["list[Score]"]()
ROW_ATTR = "passline_row"

# option -> Settings field (the [tool.passline] twin has the same name)
SETTING_OPTIONS = {
    "agent": str, "model": str, "prompts": str, "judge_model": str, "base_url": str,
    "concurrency": int, "cache": str, "cache_path": str, "run_dir": str, "temperature": float,
    "seed": int, "timeout_s": float, "run_timeout_s": float, "max_retries": int,
    "sim_latency_ms": float,
    "sim_faults": str,
}


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
        "cache": ("record/replay of model responses (replay fails on a miss, naming the "
                  "request; for keyless CI)", "off | rw | replay", None),
        "cache_path": ("the record/replay cache file", "a path (give it with =)", None),
        "run_dir": ("where run records are written", "a directory (give it with =)", None),
        "temperature": ("sampling temperature of the agent's model calls", "a float >= 0", None),
        "seed": ("base seed; trial t uses seed + t * 1000003", "an integer", None),
        "timeout_s": ("timeout of one model call, seconds", "a float > 0", None),
        "run_timeout_s": ("timeout of one agent run (case x trial x variant), seconds",
                          "a float > 0", None),
        "max_retries": ("retries of a failed model call (429, 5xx, timeouts)",
                        "an integer >= 0", None),
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
                    "infrastructure error). Values: a path (give it with =). Default: no gate.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "passline(dataset, agent=None, trials=None, scorers=(), threshold=None): "
        "run the agent on every case of a golden dataset (one item per case x trial x variant)")
    config.stash[SESSION_KEY] = None
    config.pluginmanager.register(_Recorder(config), "passline-recorder")
    baseline = config.getoption("passline_baseline", None)
    if baseline and not Path(baseline).exists():
        raise pytest.UsageError(
            f"--passline-baseline {baseline}: no such run directory or baseline file; list "
            "them with `passline runs list` / `passline baseline list`")


def _session(config: pytest.Config) -> EvalSession:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        from passline._types import Variant
        from passline.runner._session import EvalSession, parse_shard
        from passline.settings import Settings

        cli = {name: config.getoption(f"passline_{name}") for name in SETTING_OPTIONS}
        root = _project_root(config)
        settings = Settings.resolve(cli, root=root)
        variants = [Variant.parse(v) for v in config.getoption("passline_variant")] or [
            Variant("candidate", settings.model, settings.prompts)]
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise pytest.UsageError(f"--passline-variant names must be unique, got {names}")
        session = EvalSession(settings, root=root, variants=variants,
                              trials_override=config.getoption("passline_trials"),
                              shard=parse_shard(config.getoption("passline_shard")),
                              worker=hasattr(config, "workerinput"))
        config.stash[SESSION_KEY] = session
    return session


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

    where = metafunc.definition.nodeid
    if "case" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{where}: a passline eval must take `case` or `run` "
                                "(or `scores`) as an argument")
    try:
        spec = EvalSpec.from_marker(marker.args, marker.kwargs, where)
        params = _session(metafunc.config).params(spec)
    except PasslineError as exc:
        raise pytest.UsageError(f"passline: {exc}") from exc
    metafunc.parametrize("case", [p for _, p in params], ids=[i for i, _ in params],
                         indirect=True)


def _param(item: pytest.Item) -> Param | None:
    from passline.runner._session import Param

    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("case") if callspec is not None else None
    return value if isinstance(value, Param) else None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    current = config.stash.get(SESSION_KEY, None)
    if current is None or current.shard is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        param = _param(item)
        (keep if param is None or current.in_shard(param) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    current = session.config.stash.get(SESSION_KEY, None)
    if current is None or current.worker:
        return  # under xdist, workers start runs as their items arrive
    option = session.config.option
    if option.collectonly or getattr(option, "setuponly", False) or getattr(
            option, "setupplan", False):
        return  # listing tests must never call a (paid) model
    # every run of the session starts now, in item order, bounded by the concurrency limit
    current.start(p for p in map(_param, session.items) if p is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    current = item.config.stash.get(SESSION_KEY, None)
    if current is not None and current.worker:
        # under xdist, start the runs of the items queued on this worker (up to the
        # concurrency limit) so they overlap, as they do in a single process
        upcoming = [nextitem] if nextitem is not None else []
        upcoming += _xdist_queued_items(item, current.settings.concurrency)
        current.start(p for p in map(_param, [item, *upcoming]) if p is not None)
    return (yield)


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
    return _scores(request.node, run)


def _scores(node: pytest.Item, run: AgentRun) -> list[Score]:
    if SCORES_KEY not in node.stash:
        node.stash[SCORES_KEY] = _session(node.config).score(node.stash[PARAM_KEY], run)
    return node.stash[SCORES_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    param = pyfuncitem.stash.get(PARAM_KEY, None)
    if param is None:
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
    param = item.stash.get(PARAM_KEY, None)
    if param is None:
        return report
    final = call.when == "call" or (call.when == "setup" and report.failed)
    if not final or report.skipped:  # a skipped eval is not a result (xfail still is)
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
    setattr(report, ROW_ATTR, row_json(row))
    return report


class _Recorder:
    """Writes result rows as reports arrive: in a plain session, or on the xdist controller
    (workers attach rows to their reports; only the controller writes records)."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: a worker finished; keep its model-call, cache and judge summary."""
        data = (getattr(node, "workeroutput", None) or {}).get("passline")
        if data:
            _session(self.config).worker_summaries.append(json.loads(data))

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.other_failures = 0  # failures of plain tests, which no gate verdict excuses

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, ROW_ATTR, None)
        if not data and report.failed and not hasattr(self.config, "workerinput"):
            self.other_failures += 1  # eval results always carry a row; this is not one
        if not data or hasattr(self.config, "workerinput"):
            return
        current = _session(self.config)
        current.record(json.loads(data))
        from passline.runner._terminal import progress_line

        line = progress_line(current)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if line and reporter is not None:  # (xdist workers' progress is not visible here)
            if getattr(reporter._tw, "width_of_current_line", 0):
                reporter._tw.line()  # after a row of progress dots
            reporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    current = session.config.stash.get(SESSION_KEY, None)
    if current is None:
        return
    try:
        if hasattr(session.config, "workerinput"):  # hand this worker's counters over
            session.config.workeroutput["passline"] = json.dumps(  # type: ignore[attr-defined]
                current.process_summary(), default=str)
            return
        current.finish()
        baseline = session.config.getoption("passline_baseline")
        if baseline and current.summaries:
            session.exitstatus = _gated_exit_status(session, current, baseline, exitstatus)
    finally:
        current.close()


def _gated_exit_status(session: pytest.Session, current: EvalSession, baseline: str,
                       exitstatus: int) -> int:
    """The session's exit code once the gate has spoken: the worse of the verdict and any
    failure that is not an eval result (a plain test failing, an interrupted session)."""
    from passline.errors import ExitCode, PasslineError
    from passline.runner._terminal import gate_session

    if exitstatus not in (0, 1):  # usage errors, internal errors, interrupts keep their code
        return exitstatus
    if session.shouldstop or session.shouldfail:
        current.verdict_text = ("passline gate: NOT RUN -- the session stopped early (-x or "
                                "--maxfail); a partial run cannot be compared")
        return exitstatus
    errored = current.error_rows()
    if errored:
        first = errored[0]
        current.verdict_text = (
            f"passline gate: NOT RUN -- {len(errored)} agent run(s) ended in error, so the "
            f"comparison would judge an outage as a regression (or a pass). First: "
            f"{first.get('case_id')}: {str(first.get('error'))[:300]}")
        return int(ExitCode.INFRASTRUCTURE_ERROR)
    try:
        code = gate_session(current, baseline)
    except PasslineError as exc:
        current.verdict_text = f"passline gate: NOT RUN -- {exc}"
        return int(exc.exit_code)
    recorder = session.config.pluginmanager.get_plugin("passline-recorder")
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
