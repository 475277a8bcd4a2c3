"""Every kind of bad input we know of, and the message it gets (docs/reliability.md).

Each mistake ends with one ``passline: ...`` line that says what is wrong, where, and how to
fix it, with no traceback: in a pytest session exit code 2 (found at configure time or while
collecting), from the CLI exit code 2 as well. The table below holds the message of each.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy  # noqa: F401  (pytester in-process runs cannot re-import C extensions)
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

# imported here, so that the in-process sessions below do not import (and assertion-rewrite)
# them again each time: pytester forgets modules first imported inside a run
import passline.golden
import passline.models
import passline.runner._resume
import passline.runner._session
import passline.scoring  # noqa: F401

pytest_plugins = ["pytester"]

AGENT = '''
from passline import AgentRun

async def agent(case_input, ctx):
    return AgentRun(answer=case_input["message"])

NOT_CALLABLE = 42
'''

EVAL = '''
import passline

@passline.eval("mini@v1")
def test_answers(run, case):
    assert run.status == "ok"
'''

ROWS = [{"id": f"c{i}", "input": {"message": f"hello {i}"}, "expected": {}} for i in range(3)]


def matches(text: str, pattern: str) -> bool:
    """fnmatch with ``*`` as the only wildcard (messages are full of ``[`` and ``?``)."""
    import fnmatch

    return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]").replace("?", "[?]"))


class Bad(NamedTuple):
    """A bad input: how to make it, the arguments, and the message (an fnmatch pattern)."""

    setup: Callable[[Path], Any] | None
    args: tuple[str, ...]
    message: str
    env: dict[str, str] | None = None


def toml(extra: str) -> Callable[[Path], None]:
    """Set keys of [tool.passline] (replacing a line that sets the same key)."""
    def setup(root: Path) -> None:
        path = root / "pyproject.toml"
        text = path.read_text()
        for line in extra.splitlines():
            key = line.split("=")[0].strip()
            old = next((x for x in text.splitlines() if x.startswith(f"{key} =")), None)
            text = text.replace(old, line) if old else text.replace(
                "[tool.passline]\n", f"[tool.passline]\n{line}\n")
        path.write_text(text)
    return setup


def evalfile(source: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / "test_evals.py").write_text(source)
    return setup


def marker(args: str) -> Callable[[Path], None]:
    return evalfile(f"import passline, pytest\n\n@passline.eval({args})\n"
                    "def test_answers(run, case):\n    pass\n")


def data(text: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / "golden" / "mini" / "v1" / "data.jsonl"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    return setup


def lines(*rows: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def write(rel: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            return
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return setup


def both(*steps: Callable[[Path], Any]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)
    return setup


def remove(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def cache_with_schema(version: int) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        conn = sqlite3.connect(root / "c.sqlite")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
        conn.commit()
        conn.close()
    return setup


def lock(text: str) -> Callable[[Path], None]:
    return write("golden/golden.lock", text)


UNPINNED = {"schema_version": 1, "datasets": {"mini@v1": {"sha256": "0" * 64, "n_cases": 3,
                                                          "card_sha256": None}}}

SESSION: dict[str, Bad] = {
    # [tool.passline], environment, command line
    "unknown-setting": Bad(toml('modle = "sim-2"'), (), "passline: */pyproject.toml: unknown key "
                           "'modle' in [tool.passline]; known keys: *"),
    "setting-wrong-type": Bad(toml('concurrency = "many"'), (), "passline: */pyproject.toml: "
                              "[tool.passline] concurrency: setting 'concurrency' cannot be "
                              "'many'*"),
    "setting-bool-for-int": Bad(toml("trials = true"), (), "passline: */pyproject.toml: "
                                "[tool.passline] trials = True (bool) should be an integer*"),
    "setting-table-for-str": Bad(toml("model = {name = 'x'}"), (), "passline: *[tool.passline]"
                                 " model = * should be a string*"),
    "cache-mode": Bad(toml('cache = "sometimes"'), (), "passline: *cache mode 'sometimes' (*"
                      "pyproject.toml) is not one of off, rw, replay"),
    "concurrency-0": Bad(toml("concurrency = 0"), (), "passline: *concurrency must be >= 1, "
                         "got 0 (*pyproject.toml)"),
    "trials-0-config": Bad(toml("trials = 0"), (), "passline: *trials must be >= 1, got 0*"),
    "timeout-negative-config": Bad(toml("timeout_s = -5"), (), "passline: *timeout_s must be a "
                                   "number of seconds > 0, got -5.0*"),
    "run-timeout-0": Bad(toml("run_timeout_s = 0"), (), "passline: *run_timeout_s must be a "
                         "number of seconds > 0*"),
    "connect-timeout-negative": Bad(toml("connect_timeout_s = -1"), (), "passline: "
                                    "*connect_timeout_s must be a number of seconds > 0*"),
    "max-retries-negative": Bad(toml("max_retries = -1"), (), "passline: *max_retries must be "
                                ">= 0, got -1*"),
    "fail-fast-negative": Bad(toml("fail_fast_after = -2"), (), "passline: *fail_fast_after "
                              "must be >= 0*"),
    "grace-negative": Bad(toml("shutdown_grace_s = -1"), (), "passline: *shutdown_grace_s must "
                          "be >= 0*"),
    "sim-latency-negative": Bad(toml("sim_latency_ms = -10"), (), "passline: *sim_latency_ms "
                                "must be >= 0*"),
    "sim-faults-unknown": Bad(toml('sim_faults = "fire=0.1"'), (), "passline: *sim_faults (*): "
                              "unknown fault kind 'fire'*"),
    "sim-faults-rate": Bad(toml('sim_faults = "503=7"'), (), "passline: *sim_faults (*): bad "
                           "item '503=7' (rate must be within 0..1)*"),
    "base-url-not-url": Bad(toml('base_url = "olama"'), (), "passline: *base_url 'olama' (*) is "
                            "neither a URL (http://HOST:PORT/v1) nor one of the presets*"),
    "missing-api-key": Bad(toml('base_url = "openai"'), (), "passline: *model 'sim-1' needs an "
                           "API key for https://api.openai.com/v1, but environment variable "
                           "OPENAI_API_KEY is not set*"),
    "env-not-a-number": Bad(None, (), "passline: *environment PASSLINE_CONCURRENCY: setting "
                            "'concurrency' cannot be 'abc'*", {"PASSLINE_CONCURRENCY": "abc"}),
    "env-not-a-bool": Bad(None, (), "passline: *environment PASSLINE_SHARED_PERMISSIONS: "
                          "setting 'shared_permissions' cannot be 'maybe': expected true or "
                          "false*", {"PASSLINE_SHARED_PERMISSIONS": "maybe"}),
    "env-cache-mode": Bad(None, (), "passline: *cache mode 'bogus' (env PASSLINE_CACHE) is not "
                          "one of off, rw, replay", {"PASSLINE_CACHE": "bogus"}),
    "cli-trials-0": Bad(None, ("--passline-trials", "0"), "passline: --passline-trials 0: "
                        "trials must be >= 1"),
    "cli-trials-negative": Bad(None, ("--passline-trials=-3",), "passline: --passline-trials "
                               "-3: trials must be >= 1"),
    "cli-timeout-negative": Bad(None, ("--passline-timeout-s=-5",), "passline: timeout_s must "
                                "be a number of seconds > 0, got -5.0 (cli)"),
    "cli-run-timeout-0": Bad(None, ("--passline-run-timeout-s=0",), "passline: run_timeout_s "
                             "must be a number of seconds > 0, got 0.0 (cli)"),
    "cli-concurrency-0": Bad(None, ("--passline-concurrency=0",), "passline: concurrency must "
                             "be >= 1, got 0 (cli)"),
    "cli-variant-shape": Bad(None, ("--passline-variant=nonsense",), "passline: variant "
                             "'nonsense' is not NAME=MODEL:PROMPTS; write e.g. "
                             "--passline-variant base=sim-1:v1"),
    "cli-variant-no-name": Bad(None, ("--passline-variant==sim-2:v1",), "passline: variant "
                               "'=sim-2:v1' is not NAME=MODEL:PROMPTS*"),
    "cli-variant-escape": Bad(None, ("--passline-variant=x/../../../../tmp/ESCAPED=sim-2:v1",),
                              "passline: variant name 'x/../../../../tmp/ESCAPED' is not valid;"
                              " use letters, digits, '.', '_' or '-'*"),
    "cli-variant-slash": Bad(None, ("--passline-variant=feature/x=sim-2:v1",), "passline: "
                             "variant name 'feature/x' is not valid*"),
    "cli-variant-markup": Bad(None, ("--passline-variant=<img src=x onerror=alert(1)>=sim-2:v1",
                                     ), "passline: variant name '<img src' is not valid*"),
    "cli-variant-too-long": Bad(None, (f"--passline-variant={'v' * 101}=sim-2:v1",),
                                "passline: variant name 'vvv*' is not valid*at most 100 "
                                "characters*"),
    "cli-variant-dots": Bad(None, ("--passline-variant=..=sim-2:v1",), "passline: variant "
                            "name '..' is not valid*"),
    "cli-variant-duplicate": Bad(None, ("--passline-variant=a=sim-1:v1",
                                        "--passline-variant=a=sim-2:v2"),
                                 "passline: --passline-variant names must be unique, got "
                                 "['a', 'a']"),
    "cli-shard-shape": Bad(None, ("--passline-shard=half",), "passline: --passline-shard 'half'"
                           " is not I/N (e.g. 1/4)"),
    "cli-shard-range": Bad(None, ("--passline-shard=3/2",), "passline: --passline-shard '3/2': "
                           "I must be within 1..N"),
    "cli-shard-zero": Bad(None, ("--passline-shard=0/2",), "passline: --passline-shard '0/2': "
                          "I must be within 1..N"),
    "cli-baseline-missing": Bad(None, ("--passline-baseline=reports/nope",), "passline: "
                                "--passline-baseline reports/nope: no such run directory or "
                                "baseline file*"),
    "cli-resume-missing": Bad(None, ("--passline-resume=20990101-000000-dead-candidate",),
                              "passline: *--passline-resume 20990101-000000-dead-candidate: no "
                              "run record there*passline runs list*"),
    "cli-sim-faults": Bad(None, ("--passline-sim-faults=boom",), "passline: sim_faults (cli): "
                          "unknown fault kind 'boom'*"),
    # where records and caches go
    "run-dir-is-a-file": Bad(write("runs", "not a folder"), (), "passline: *run_dir */runs is "
                             "a file, not a directory; point run_dir (--passline-run-dir=DIR, "
                             "PASSLINE_RUN_DIR) at a directory"),
    "run-dir-under-a-file": Bad(both(write("runs", "x"), toml('run_dir = "runs/deeper"')), (),
                                "passline: *run_dir */runs/deeper: */runs is a file, not a "
                                "directory*"),
    "cache-path-is-a-dir": Bad(both(toml('cache = "rw"\ncache_path = "cachedir"'),
                                    lambda root: (root / "cachedir").mkdir()), (),
                               "passline: *cache_path */cachedir is a directory; point "
                               "cache_path*at a file*"),
    "cache-corrupt": Bad(both(toml('cache = "rw"\ncache_path = "c.sqlite"'),
                              write("c.sqlite", os.urandom(4096))), (),
                         "passline: */c.sqlite is not a readable passline cache (file is not a "
                         "database); it is only a cache: delete it*"),
    "cache-other-schema": Bad(both(toml('cache = "rw"\ncache_path = "c.sqlite"'),
                                   cache_with_schema(99)), (), "passline: *cache */c.sqlite has "
                              "schema version 99, this passline reads 1*"),
    "cache-under-a-file": Bad(both(toml('cache = "rw"\ncache_path = "f/c.sqlite"'),
                                   write("f", "x")), (), "passline: *cache_path */f/c.sqlite: "
                              "cannot create it under */f (not a writable directory)*"),
    "replay-without-cache": Bad(toml('cache = "replay"\ncache_path = "none.sqlite"'), (),
                                "passline: *--passline-cache replay: no recorded responses at "
                                "*none.sqlite; record them first*"),
    # the agent and the eval marker
    "agent-shape": Bad(toml('agent = "myagent.agent"'), (), "passline: test_evals.py:*: agent "
                       "'myagent.agent' is not 'module:function'*"),
    "agent-module-missing": Bad(None, ("--passline-agent=nosuch_module:run",), "passline: "
                                "test_evals.py:*: cannot import agent module 'nosuch_module'*"),
    "agent-missing": Bad(None, ("--passline-agent=myagent:nope",), "passline: test_evals.py:*: "
                         "module 'myagent' has no agent 'nope'"),
    "agent-not-callable": Bad(None, ("--passline-agent=myagent:NOT_CALLABLE",), "passline: "
                              "test_evals.py:*: agent 'myagent:NOT_CALLABLE' is not callable"),
    "no-agent": Bad(lambda root: (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace('agent = "myagent:agent"', "")), (),
        "passline: test_evals.py:*: no agent to evaluate: set [tool.passline] agent*"),
    "marker-no-dataset": Bad(evalfile("import pytest\n\n@pytest.mark.passline()\n"
                                      "def test_answers(case):\n    pass\n"), (),
                             "passline: test_evals.py:3: passline marker needs a dataset*"),
    "marker-unknown-arg": Bad(evalfile("import pytest\n\n@pytest.mark.passline('mini@v1', "
                                       "trails=3)\ndef test_answers(case):\n    pass\n"), (),
                              "passline: test_evals.py:3: unknown passline marker "
                              "argument(s) ['trails']*"),
    "marker-scorer-not-callable": Bad(marker('"mini@v1", scorers=["exact"]'), (),
                                      "passline: test_evals.py:3: scorer 'exact' is not "
                                      "callable; a scorer is (run, case) -> Score"),
    "marker-trials-0": Bad(marker('"mini@v1", trials=0'), (), "passline: test_evals.py:3: "
                           "trials must be an integer >= 1, got 0"),
    "marker-trials-text": Bad(marker('"mini@v1", trials="3"'), (), "passline: test_evals.py:3:"
                              " trials must be an integer >= 1, got '3'"),
    "marker-threshold": Bad(marker('"mini@v1", threshold=5'), (), "passline: test_evals.py:3: "
                            "threshold must be a number within 0..1*"),
    "marker-dataset-type": Bad(marker("123"), (), "passline: test_evals.py:3: the dataset must "
                               "be a non-empty string such as 'tools-unit@v2', got 123"),
    "eval-without-case": Bad(evalfile("import passline\n\n@passline.eval('mini@v1')\n"
                                      "def test_answers():\n    pass\n"), (),
                             "passline: test_evals.py:3: a passline eval must take `case`, "
                             "`run` or `scores`*"),
    # dataset references
    "dataset-unknown": Bad(marker('"nope@v1"'), (), "passline: test_evals.py:3: no golden "
                           "dataset 'nope' under */golden (known: mini); create "
                           "golden/nope/v1/data.jsonl and card.md*"),
    "dataset-version-unknown": Bad(marker('"mini@v7"'), (), "passline: */golden/mini: golden "
                                   "dataset 'mini' has no version 'v7' (versions: v1)"),
    "dataset-ref-shape": Bad(marker('"mini"'), (), "passline: test_evals.py:3: dataset ref "
                             "'mini' is not NAME@VERSION, hf://OWNER/REPO@REVISION or a path*"),
    "dataset-hf-unpinned": Bad(marker('"hf://owner/repo"'), (), "passline: test_evals.py:3: "
                               "hub dataset ref 'hf://owner/repo' must pin a revision*"),
    "dataset-file-missing": Bad(marker('"cases/missing.jsonl"'), (), "passline: "
                                "cases/missing.jsonl: no such dataset file; check the path"),
    "dataset-file-type": Bad(both(write("cases.csv", "id,input\n"), marker('"cases.csv"')), (),
                             "passline: cases.csv: unsupported dataset file type '.csv'; use "
                             ".jsonl or .parquet"),
    # dataset content
    "data-invalid-json": Bad(data(lines(ROWS[0], '{"id": "c1", "input": ')), (),
                             "passline: golden/mini/v1/data.jsonl:2: invalid JSON: *"),
    "data-not-utf8": Bad(data(lines(ROWS[0]).encode() + b'{"id": "\xff\xfe"}\n'), (),
                         "passline: golden/mini/v1/data.jsonl:2: not valid UTF-8 (invalid "
                         "start byte at byte 8)"),
    "data-binary": Bad(data(b"\x00\x01\x02\x89PNG\r\n\x1a\n"), (), "passline: "
                       "golden/mini/v1/data.jsonl:1: *"),
    "data-truncated": Bad(data(lines(ROWS[0]) + '{"id": "c1", "in'), (), "passline: "
                          "golden/mini/v1/data.jsonl:2: invalid JSON: *"),
    "data-row-not-object": Bad(data(lines(ROWS[0], [1, 2])), (), "passline: "
                               "golden/mini/v1/data.jsonl:2: a row must be a JSON object, got "
                               "array"),
    "data-missing-id": Bad(data(lines({"input": {"message": "x"}})), (), "passline: "
                           'golden/mini/v1/data.jsonl:1: missing required field "id"'),
    "data-bad-id": Bad(data(lines({"id": "Has Space", "input": {"message": "x"}})), (),
                       "passline: golden/mini/v1/data.jsonl:1: id 'Has Space' is not a valid "
                       "case id*"),
    "data-id-not-string": Bad(data(lines({"id": 7, "input": {"message": "x"}})), (),
                              "passline: golden/mini/v1/data.jsonl:1: id must be a string*"),
    "data-duplicate-id": Bad(data(lines(ROWS[0], ROWS[0])), (), "passline: "
                             "golden/mini/v1/data.jsonl:2: duplicate id 'c0' (also on line 1)*"),
    "data-missing-input": Bad(data(lines({"id": "c0"})), (), "passline: "
                              'golden/mini/v1/data.jsonl:1: missing required field "input"*'),
    "data-input-not-object": Bad(data(lines({"id": "c0", "input": "hello"})), (),
                                 "passline: golden/mini/v1/data.jsonl:1: input must be an "
                                 "object*"),
    "data-tags-not-list": Bad(data(lines({**ROWS[0], "tags": "must-pass"})), (),
                              "passline: golden/mini/v1/data.jsonl:1: tags must be*"),
    "data-metadata-not-object": Bad(data(lines({**ROWS[0], "metadata": [1]})), (),
                                    "passline: golden/mini/v1/data.jsonl:1: metadata must be*"),
    "data-empty": Bad(data(""), (), "passline: golden/mini/v1/data.jsonl: file has no cases (it "
                      "is empty)*"),
    "data-several-problems": Bad(data(lines({"id": 1}, {"id": 2})), (), "passline: "
                                 "golden/mini/v1/data.jsonl:1: *"),
    "card-missing": Bad(remove("golden/mini/v1/card.md"), (), "passline: "
                        "golden/mini/v1/card.md: card.md is missing; describe the dataset*"),
    "lock-stale": Bad(lock(json.dumps(UNPINNED)), (), "passline: golden/mini/v1/data.jsonl: "
                      "golden/mini/v1/data.jsonl changed but its version was not bumped*"),
    "lock-invalid-json": Bad(lock("{not json"), (), "passline: */golden/golden.lock:1: "
                             "golden.lock is not valid JSON*"),
    "lock-schema": Bad(lock(json.dumps({"schema_version": 9, "datasets": {}})), (),
                       "passline: */golden/golden.lock: golden.lock has schema_version 9*"),
    "lock-no-datasets": Bad(lock(json.dumps({"schema_version": 1})), (), "passline: "
                            '*/golden/golden.lock: golden.lock has no "datasets" object*'),
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)
    monkeypatch.delenv("PASSLINE_CACHE_PATH", raising=False)


def make_project(pytester: pytest.Pytester) -> Path:
    return write_mini_project(pytester, ROWS, agent=AGENT, eval_src=EVAL)


@pytest.mark.parametrize("kind", sorted(SESSION))
def test_a_bad_input_ends_the_session_with_one_line_and_exit_2(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    bad = SESSION[kind]
    root = make_project(pytester)
    if bad.setup is not None:
        bad.setup(root)
    for name, value in (bad.env or {}).items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                *bad.args)
    output = result.stdout.lines + result.stderr.lines
    assert result.ret == 2, "\n".join(output)
    matching = [line for line in output if line.startswith("passline: ")]
    assert matching, "\n".join(output)
    assert matches(matching[0], bad.message), matching[0]
    assert not any(x in line for line in output for x in ("Traceback", "INTERNALERROR",
                                                          "raise ", "site-packages"))
    assert not (root / "runs").is_dir() or not any((root / "runs").iterdir())


def test_a_utf8_bom_is_tolerated(pytester: pytest.Pytester) -> None:
    root = make_project(pytester)
    path = root / "golden" / "mini" / "v1" / "data.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves it
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    from passline.golden import validate
    from passline.settings import Settings

    assert [str(p) for p in validate("mini@v1", root=root)
            if "golden.lock" not in str(p)] == []
    # pytest itself refuses a pyproject.toml with a BOM; passline's CLI reads it
    pyproject = root / "pyproject.toml"
    pyproject.write_bytes(b"\xef\xbb\xbf" + pyproject.read_bytes())
    assert Settings.resolve(root=root).agent == "myagent:agent"


# -- records read by gate / report / runs / merge --------------------------------------------

def make_run(path: Path, rows: list[Any] | None = None, manifest: Any = None,
             finished: bool = True) -> Path:
    path.mkdir(parents=True)
    manifest = {"schema_version": 1, "run_id": path.name,
                "finished_at": "2026-01-01T00:00:00" if finished else None,
                "variant": {"name": "cand", "model": "sim-2", "prompts": "v2", "params": {}},
                } if manifest is None else manifest
    (path / "manifest.json").write_text(manifest if isinstance(manifest, str)
                                        else json.dumps(manifest))
    good = {"schema_version": 1, "eval": "e", "case_id": "c0", "dataset": "d",
            "dataset_version": "v1", "trial": 0, "status": "pass", "score": 1.0}
    body = rows if rows is not None else [good]
    (path / "results.jsonl").write_bytes(b"".join(
        r if isinstance(r, bytes) else (json.dumps(r) + "\n").encode() for r in body))
    return path


ROW = {"schema_version": 1, "eval": "e", "case_id": "c1", "dataset": "d", "dataset_version": "v1",
       "trial": 0, "status": "pass", "score": 1.0}

RECORDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "results-binary": (lambda p: make_run(p, [ROW, bytes(range(128, 256)) + b"\n", ROW]),
                       "*/results.jsonl:2: not * the row starts b'*'*; fix or delete that line"
                       "*"),
    "results-bad-json": (lambda p: make_run(p, [ROW, b'{"eval": "e", \n', ROW]),
                         "*/results.jsonl:2: not valid JSON (*); the row starts "
                         "b'{\"eval\": \"e\", \\n'; fix or delete that line, or re-run"),
    "results-not-object": (lambda p: make_run(p, [ROW, [1, 2]]),
                           "*/results.jsonl:2: a result row must be a JSON object; the row "
                           "starts b'[1, 2]\\n'"),
    "results-row-lacks-key": (lambda p: make_run(p, [{k: v for k, v in ROW.items()
                                                      if k != "case_id"}]),
                              "*/results.jsonl:1: result row lacks 'case_id'*"),
    "results-row-schema": (lambda p: make_run(p, [{**ROW, "schema_version": 99}]),
                           "*/results.jsonl:1: schema_version 99 is not supported (this "
                           "passline reads 1); upgrade passline or re-run*"),
    "manifest-missing": (lambda p: (make_run(p), (p / "manifest.json").unlink(), p)[-1],
                         "*: no manifest.json here; pass a run directory*"),
    "manifest-truncated": (lambda p: make_run(p, manifest='{"schema_version": 1, "run_'),
                           "*/manifest.json: unreadable manifest (*); re-run or restore it"),
    "manifest-binary": (lambda p: (make_run(p), (p / "manifest.json").write_bytes(
        b"\xff\xfe\x00garbage"), p)[-1], "*/manifest.json: unreadable manifest (*utf-8*)*"),
    "manifest-not-object": (lambda p: make_run(p, manifest="[1, 2]"),
                            "*/manifest.json: manifest must be a JSON object, got list"),
    "manifest-schema": (lambda p: make_run(p, manifest=json.dumps({"schema_version": 7})),
                        "*/manifest.json: schema_version 7 is not supported*"),
    "results-gz-truncated": (lambda p: (make_run(p), (p / "results.jsonl").unlink(),
                                        (p / "results.jsonl.gz").write_bytes(gzip.compress(
                                            (json.dumps(ROW) + "\n").encode() * 50)[:60]), p)[-1],
                             "*/results.jsonl.gz:1: cannot read past this line (*); the file is "
                             "damaged*"),
}


@pytest.mark.parametrize("kind", sorted(RECORDS))
@pytest.mark.parametrize("command", ["gate", "report", "runs-show", "merge"])
def test_a_damaged_record_is_named_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, command: str) -> None:
    from passline.cli import main

    make, message = RECORDS[kind]
    good = make_run(tmp_path / "good")
    bad = make(tmp_path / "bad")
    if command == "runs-show" and kind.startswith("results-"):
        # a finished manifest has its totals: `runs show` reads the rows of unfinished runs
        manifest = json.loads((bad / "manifest.json").read_text())
        (bad / "manifest.json").write_text(json.dumps({**manifest, "finished_at": None}))
    argv = {"gate": ["gate", str(good), str(bad)],
            "report": ["report", str(good), str(bad), "--out", str(tmp_path / "out")],
            "runs-show": ["runs", "show", str(bad)],
            "merge": ["merge", str(bad), "--out", str(tmp_path / "merged")]}[command]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and err.startswith("passline: error: "), err
    assert matches(err[len("passline: error: "):], message), err


CLI: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "config-invalid-toml": (lambda p: (p.joinpath("pyproject.toml").write_text(
        "[tool.passline\nmodel = 1\n"), ["config"])[-1], "*/pyproject.toml: invalid TOML (*); "
        "fix the file"),
    "config-not-utf8": (lambda p: (p.joinpath("pyproject.toml").write_bytes(
        b"[tool.passline]\nmodel = '\xff'\n"), ["config"])[-1], "*/pyproject.toml: not UTF-8 "
        "text (invalid start byte at byte 25); save it as UTF-8"),
    "baseline-name-escape": (lambda p: ["baseline", "--dir", str(p / "b"), "save", "../../x",
                                        str(make_run(p / "run"))],
                             "baseline name '../../x' is not valid; use letters, digits*"),
    "baseline-name-json": (lambda p: ["baseline", "--dir", str(p / "b"), "save", "main.json",
                                      str(make_run(p / "run"))],
                           "baseline name 'main.json' is not valid; give it without the .json "
                           "suffix*"),
    "merge-into-non-empty": (lambda p: ["merge", str(make_run(p / "run")), "--out",
                                        str(make_run(p / "other"))],
                             "*/other already exists and is not empty; merge into a new "
                             "directory*"),
    "merge-different-variants": (lambda p: ["merge", str(make_run(p / "a")), str(make_run(
        p / "b", manifest={"schema_version": 1, "run_id": "b", "variant": {
            "name": "base", "model": "sim-1", "prompts": "v1"}})), "--out", str(p / "m")],
        "cannot merge runs of different variants: *; merge each variant's shards separately"),
    "resume-unknown-run": (lambda p: ["runs", "resume", "nope-run"],
                           "--passline-resume nope-run: no run record there*"),
}


@pytest.mark.parametrize("kind", sorted(CLI))
def test_cli_usage_errors_are_one_line_with_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        kind: str) -> None:
    from passline.cli import main

    monkeypatch.chdir(tmp_path)
    make, message = CLI[kind]
    argv = make(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and err.startswith("passline: error: "), err
    assert matches(err[len("passline: error: "):], message), err


def test_the_table_holds_at_least_69_kinds_of_bad_input() -> None:
    """The audit found 69 kinds; this file keeps the message of each kind we know of."""
    assert len(SESSION) + len(RECORDS) + len(CLI) >= 69
