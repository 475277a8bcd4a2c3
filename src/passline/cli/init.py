"""``passline init``: scaffold evals/, golden/ and an example agent into your own project.

After it, ``pytest evals/`` runs offline on the simulator; point ``agent`` in
``[tool.passline]`` at your own agent and ``model`` at a real model to evaluate those.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from passline.cli._output import examples
from passline.errors import ConfigError

FILES = {
    "example_agent.py": "example_agent.py",
    "evals/test_example.py": "test_example.py",
    "evals/conftest.py": "conftest.py",
    "golden/example/v1/data.jsonl": "data.jsonl",
    "golden/example/v1/card.md": "card.md",
    ".github/workflows/evals.yml": "workflow.yml",
}
CONFIG = """
[tool.passline]
# the agent under test ("module:function"); see docs/agents.md for the protocol
agent = "example_agent:run"
# sim-1 / sim-2 run offline on the built-in simulator; set a real model (and OPENAI_API_KEY,
# or base_url for vLLM / Ollama / LiteLLM) to evaluate against a real endpoint
model = "sim-2"
prompts = "v1"

[tool.passline.gate]
max_drop = 0.02
# latency measured in-process on a busy machine (a laptop, a shared CI runner) is noisy:
# allow p95 latency to double before failing; tighten this on a dedicated runner
max_p95_latency_increase = 1.0
"""
PYTEST_CONFIG = """
[tool.pytest.ini_options]
pythonpath = ["."]
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="scaffold evals/, golden/ and an example agent here",
                       **examples("passline init", "passline init --root my-project"))
    # --root like every other command's project folder; --dir is the older spelling
    p.add_argument("--root", "--dir", dest="dir", metavar="DIR", default=".",
                   help="project folder (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    existing = [rel for rel in FILES if (root / rel).exists()]
    if existing and not args.force:
        raise ConfigError(f"passline init would overwrite {', '.join(existing)} in {root}; "
                          "move them away or pass --force")
    templates = resources.files("passline.cli.scaffold")
    for rel, name in FILES.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(templates.joinpath(name).read_text(encoding="utf-8"),
                          encoding="utf-8")
        print(f"created {target}")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    added = []
    if "[tool.passline]" not in text:
        added.append(CONFIG)
    if "[tool.pytest.ini_options]" not in text:
        added.append(PYTEST_CONFIG)
    if added:
        with open(pyproject, "a", encoding="utf-8") as fh:
            fh.write("".join(added))
        print(f"added [tool.passline] settings to {pyproject}")
    else:
        print(f"{pyproject} already has [tool.passline]: set agent = 'example_agent:run' to "
              "try the example")
    from passline.golden import lock

    lock(root)
    print("locked golden/example@v1 in golden/golden.lock")
    print("\nnext: pytest evals/            (offline, on the simulator)\n"
          "      then point agent= at your agent and model= at a real model")
    return 0
