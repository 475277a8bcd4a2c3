"""Developer sessions: tests, lint, typecheck, and the evals across model x prompt versions."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python="3.11")
def tests(session):
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(python="3.11")
def typecheck(session):
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(python="3.11")
@nox.parametrize("variant", ["sim-1:v1", "sim-2:v2", "sim-2:v3-regressed"])
def evals(session, variant):
    """Run the dogfood evals for one model:prompts variant and record the run."""
    model, prompts = variant.split(":")
    session.install("-e", ".[test]")
    session.run(
        "python", "-m", "pytest", "evals", f"--passline-model={model}",
        f"--passline-prompts={prompts}", *session.posargs,
    )
