"""Every command a reader of README.md and docs/*.md would type is run by the test suite.

Commands are read from the docs themselves: lines of shell blocks (``bash``, ``console``,
unlabelled) and inline code that starts with ``passline`` or ``pytest``. Each falls in one of:

- **runnable** (no placeholders): run here, in a project made as the docs say, and must exit
  as documented (``RUN`` below), or run by a named test (``RUN_ELSEWHERE``);
- **a synopsis** (``NAME``, ``<id>``, ``[--flag]``, ``a / b``): its subcommand must exist and
  every ``--flag`` it names must be in that command's ``--help`` -- docs and CLI agree;
- **not passline's** (an editor, git, an ``export``): listed in ``NOT_OURS`` with the reason.

A command added to the docs that is none of these fails ``test_every_documented_command_is
_covered`` with its file and line, so the docs cannot drift from what is tested.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(\.venv/bin/)?(passline|pytest|python3? -m|export|\$EDITOR|git)\b")
PLACEHOLDER = re.compile(r"<[^>]+>|\[|\]|\.\.\.|(?<![|])\|(?![|])| / |\$\(|"
                         r"(?<![\w.-])[A-Z][A-Z_]*(?:/[A-Z]+)?(?![\w.-])")


def documented() -> Iterator[tuple[str, int, str]]:
    """(file, line, command) for every command the docs show."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        for m in re.finditer(r"(<!-- worked-example -->\n)?```(\w*)\n(.*?)```", text, re.S):
            if m.group(2) not in ("", "bash", "sh", "shell", "console"):
                continue
            first = text.count("\n", 0, m.start(3)) + 1
            for i, line in enumerate(m.group(3).splitlines()):
                line = line.strip()
                line = line[2:] if line.startswith("$ ") else line
                line = re.sub(r"\s+#.*$", "", line).rstrip("\\ ").strip()
                if COMMAND.match(line):
                    tag = "worked-example:" if m.group(1) else ""
                    yield rel, first + i, tag + line
        prose = re.sub(r"```.*?```", lambda b: "\n" * b.group(0).count("\n"), text, flags=re.S)
        for m in re.finditer(r"`([^`\n]+)`", prose):
            code = m.group(1).strip()
            if re.match(r"^(\.venv/bin/)?(passline|pytest) ", code) or code in (
                    "passline init", "passline demo", "passline config"):
                yield rel, prose.count("\n", 0, m.start()) + 1, code


def is_synopsis(command: str) -> bool:
    return bool(PLACEHOLDER.search(command.replace("--passline-", "--p-")))


# -- runnable commands and how they are run --------------------------------------------
def _sh(project: Path, command: str, expect: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSLINE_", "OPENAI_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    proc = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == expect, (command, proc.returncode, proc.stdout[-3000:],
                                       proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def _runs(project: Path) -> list[Path]:
    return sorted((project / "reports" / "runs").iterdir())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A newcomer's project: ``passline init``, then one recorded run of each variant."""
    root = tmp_path_factory.mktemp("newcomer")
    (root / "pyproject.toml").write_text('[project]\nname = "newcomer"\n')
    _sh(root, "passline init")
    out = _sh(root, "pytest evals/ --passline-variant base=sim-2:v1 "
                    "--passline-variant cand=sim-2:v2")
    # docs/plugin.md shows this session's end: the verdict, its reasons and the report
    assert "passline gate: PASS (cand vs base)" in out, out[-3000:]
    assert "not significant (p = 1)" in out and "not gated: fewer than 20 paired units" in out
    (cand,) = (root / "reports" / "runs").glob("*-cand")
    assert {p.name for p in (cand / "vs-base").iterdir()} >= {"index.html", "summary.md",
                                                               "junit.xml"}
    return root


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's pyproject, golden sets and agents, for the docs' golden/ examples."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(ROOT / "pyproject.toml", root)
    for folder in ("golden", "agents"):
        shutil.copytree(ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("build", "__pycache__"))
    return root


def _run_pair(project: Path) -> tuple[Path, Path]:
    base = [p for p in _runs(project) if p.name.endswith("-base")][-1]
    cand = [p for p in _runs(project) if p.name.endswith("-cand")][-1]
    return base, cand


Recipe = Callable[[Path, Path], None]


def _report_pair(project: Path, _: Path) -> None:
    base, cand = _run_pair(project)
    out = _sh(project, f"passline report {base} {cand}")
    assert "index.html" in out


def _gate_pair(project: Path, _: Path) -> None:
    base, cand = _run_pair(project)
    out = _sh(project, f"passline gate {base} {cand}", expect=0)
    assert out.startswith("PASS")


def _baseline_flow(project: Path, _: Path) -> None:
    base, cand = _run_pair(project)
    # _ci_gate saves a "main" on this module's project too, and runs first whenever xdist
    # (worksteal) hands this worker its command without the one that sorts before it
    shutil.rmtree(project / "reports" / "baselines", ignore_errors=True)
    _sh(project, f"passline baseline save main {base}")
    _sh(project, f"passline gate main {cand}", expect=0)
    _sh(project, f"passline baseline promote main {cand}")
    _sh(project, "passline baseline rollback main")


def _ci_gate(project: Path, _: Path) -> None:
    base, cand = _run_pair(project)
    if not (project / "reports" / "baselines" / "main.json").exists():
        _sh(project, f"passline baseline save main {base}")
    run = cand
    _sh(project, f'run={run}; passline ci gate reports/baselines/main.json "$run" '
                 "--out reports/pr")
    assert (project / "reports" / "pr" / "summary.md").is_file()
    _sh(project, "passline ci summary reports/pr/summary.md")
    _sh(project, "passline ci comment reports/pr/summary.md")  # not a PR: a notice, exit 0


def _real_model_without_key(command: str) -> Recipe:
    """A real model with no key (the tests are offline): one clear usage error, exit 2."""
    def run(project: Path, _: Path) -> None:
        out = _sh(project, command.replace(".venv/bin/", ""), expect=2)
        assert "OPENAI_API_KEY" in out and "Traceback" not in out
    return run


def _sim_serve(project: Path, _: Path) -> None:
    proc = subprocess.Popen(["passline", "sim", "serve", "--latency-ms", "20", "--faults",
                             "503=0.05,429#2"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:"
                                 f"{os.environ.get('PATH', '')}"})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
    assert proc.wait(timeout=30) == 0  # "Stop with Ctrl-C or SIGTERM": a clean stop


def _golden_versions(_: Path, repo: Path) -> None:
    out = _sh(repo, "passline golden new-version tools-unit")
    assert "created golden/tools-unit/v3" in out
    _sh(repo, "passline golden diff tools-unit@v2 v3")
    _sh(repo, "passline golden diff tools-unit@v1 v2")
    _sh(repo, "passline golden lock && passline golden validate")


RUN: dict[str, Recipe] = {
    "passline init": lambda p, r: None,  # the project fixture ran it
    "pytest evals/": lambda p, r: _sh(p, "pytest evals/") and None,
    "pytest evals/ --passline-variant base=sim-2:v1 --passline-variant cand=sim-2:v2":
        lambda p, r: None,  # the project fixture ran it
    "pytest evals/ || [ $? -eq 1 ]":
        lambda p, r: _sh(p, "pytest evals/ || [ $? -eq 1 ]") and None,
    "passline golden lock && passline golden validate":
        lambda p, r: _sh(p, "passline golden lock && passline golden validate") and None,
    "passline config": lambda p, r: _sh(p, "passline config") and None,
    "passline report BASE_RUN CAND_RUN": _report_pair,
    "passline gate BASE_RUN CAND_RUN": _gate_pair,
    "passline report reports/runs/20261127-101500-base reports/runs/20261127-104200-cand":
        _report_pair,
    "passline baseline save main reports/runs/<run-id>": _baseline_flow,
    "passline gate main reports/runs/<id>": _baseline_flow,
    'passline ci gate reports/baselines/main.json "$run" --out reports/pr': _ci_gate,
    'passline ci gate reports/baselines/main.json "$run" --out report': _ci_gate,
    "passline ci comment reports/pr/summary.md": _ci_gate,
    "passline ci summary report/summary.md": _ci_gate,
    ".venv/bin/python -m pytest evals --passline-model gpt-4o-mini":
        _real_model_without_key("python -m pytest evals --passline-model gpt-4o-mini"),
    "pytest evals/ --passline-variant base=gpt-4o-mini:v1 --passline-variant cand=gpt-4o-mini:v2":
        _real_model_without_key("pytest evals/ --passline-variant base=gpt-4o-mini:v1 "
                                "--passline-variant cand=gpt-4o-mini:v2"),
    'passline sim serve --latency-ms 20 --faults "503=0.05,429#2"': _sim_serve,
    "passline golden new-version tools-unit": _golden_versions,
    "passline golden diff tools-unit@v2 v3": _golden_versions,
    "passline golden diff tools-unit@v1 v2": _golden_versions,
}
# runnable commands another test runs verbatim (the test named, and what it runs)
RUN_ELSEWHERE = {
    "passline demo": ".ci/run (passline demo --out reports/ci-demo --check)",
    "python3 -m venv .venv && .venv/bin/pip install -q -e \".[dev]\" && .venv/bin/passline demo":
        ".ci/run",
    "python3 -m venv .venv && .venv/bin/pip install -q -e \".[dev]\" && .venv/bin/python -m "
    "pytest -n logical": ".ci/run (tests/test_readme.py keeps it verbatim)",
    'passline judge labels add judge-marks.json --labeller "Ana Lopez" --kind human':
        "tests/test_review_marks.py (labels add from marks the report made, then lock and "
        "calibrate; into a scratch dataset name)",
    "passline judge calibrate answer-quality@1 --dataset judge-calibration@v3":
        "tests/test_review_marks.py (calibrate against the added labels)",
}
NOT_OURS = {
    "$EDITOR golden/tools-unit/v3/data.jsonl golden/tools-unit/v3/card.md": "an editor",
    'git add golden/ && git commit -m "tools-unit v3: refund-status cases"': "git",
    "export OPENAI_API_KEY=...": "the user's secret (the command after it runs without it)",
    'export PASSLINE_RUN_DIR="$(mktemp -d)/runs" PASSLINE_CACHE=replay':
        "environment (the names are checked to be settings below)",
}


def _covered(command: str) -> bool:
    return (command.startswith("worked-example:") or command in RUN or command in RUN_ELSEWHERE
            or command in NOT_OURS or is_synopsis(command) or _bare(command))


def _bare(command: str) -> bool:
    """A command named in prose without arguments (`passline merge`, `pytest --help`)."""
    words = shlex.split(command)
    return words[0] in ("passline", "pytest") and all(
        re.fullmatch(r"(--)?[a-z][a-z-]*", w) for w in words[1:])


def test_every_documented_command_is_covered() -> None:
    missing = [f"{f}:{line}: {cmd}" for f, line, cmd in documented() if not _covered(cmd)]
    assert not missing, ("documented commands no test runs (add them to RUN, RUN_ELSEWHERE or "
                         "NOT_OURS in tests/test_docs_commands.py):\n" + "\n".join(missing))


def test_the_worked_examples_are_run_by_their_tests() -> None:
    worked = [c for _, _, c in documented() if c.startswith("worked-example:")]
    assert worked, "docs/production.md lost its worked example"
    assert "<!-- worked-example -->" in (ROOT / "tests" / "test_production_docs.py").read_text(
        "utf-8") or "worked-example" in (ROOT / "tests" / "test_production_docs.py").read_text(
        "utf-8")


def test_commands_run_elsewhere_are_run_there() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "passline demo" in ci
    for command in RUN_ELSEWHERE:
        if command.startswith("python3 -m venv"):
            assert command in ci.splitlines() or "passline demo" in command, command


@functools.cache
def _pytest_help() -> str:
    return subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT).stdout


def _help(words: list[str]) -> str:
    """The ``--help`` text of the command the words name: the deepest (sub)command their
    plain words lead to, as ``passline WORDS --help`` finds it (built in-process: the parser
    is what is checked, not the interpreter's start-up, paid once per command before)."""
    if words[0] == "pytest":
        return _pytest_help()
    from passline.cli import build_parser

    parser = build_parser()
    for word in (w for w in words[1:] if re.fullmatch(r"[a-z][a-z-]*", w)):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser.format_help()


def test_synopses_name_commands_and_flags_that_exist() -> None:
    problems = []
    seen: dict[str, str] = {}
    for f, line, command in documented():
        if command.startswith("worked-example:") or command in NOT_OURS or command in RUN \
                or command in RUN_ELSEWHERE:
            continue
        if not (is_synopsis(command) or _bare(command)):
            continue
        words = [w for w in re.split(r"\s+", command) if w]
        words[0] = words[0].removeprefix(".venv/bin/")
        if words[0] not in ("passline", "pytest"):
            continue
        for part in re.split(r"\s+/\s+", command)[:1]:
            key = " ".join(w for w in part.split() if re.fullmatch(r"[a-z][a-z-]*", w))
            try:
                text = seen.get(key) or _help(words)
            except AssertionError as exc:
                problems.append(f"{f}:{line}: {exc}")
                continue
            seen[key] = text
            for flag in re.findall(r"(--[a-z][a-z0-9-]*)", command):
                if flag not in text:
                    problems.append(f"{f}:{line}: {flag} is not in `{key} --help`")
    assert not problems, "\n".join(problems)


def test_environment_names_in_docs_are_settings() -> None:
    from passline.settings import Settings

    fields = {f"PASSLINE_{name.upper()}" for name in Settings.field_names()}
    for _, _, command in documented():
        for name in re.findall(r"\b(PASSLINE_[A-Z_]+)=", command):
            assert name in fields, f"{name} is not a setting"


_DONE: dict[Recipe, BaseException | None] = {}


@pytest.mark.parametrize("command", sorted(set(RUN)))
def test_documented_command_runs(command: str, project: Path, repo_copy: Path) -> None:
    recipe = RUN[command]
    if recipe not in _DONE:  # several documented lines share one recipe: run it once
        try:
            recipe(project, repo_copy)
            _DONE[recipe] = None
        except BaseException as exc:
            _DONE[recipe] = exc
            raise
    elif _DONE[recipe] is not None:
        raise AssertionError(f"its recipe failed for another command: {_DONE[recipe]}")
