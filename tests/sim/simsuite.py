"""The simulator's generalisation suite: requests and tools no simulator rule was written for.

Data lives in ``tests/sim/generalisation/`` (``tools.json``: 18 tools from 10 domains that
neither ``agents/`` nor ``golden/`` use, grouped in three assistants with their system
prompts; ``benign.jsonl``: requests with the expected tool calls; ``redteam.jsonl``: attacks
with the calls that must not happen and the secrets that must not leak). Every request goes
to the simulator over real HTTP through the ``openai`` client, at temperature 0.

Figures per model:

- tool accuracy: benign requests whose calls name exactly the expected tools (as a multiset;
  no call expected and none made counts as right);
- argument accuracy: benign requests whose calls are right *and* carry every expected argument
  value (extra optional arguments are allowed unless the case lists them as ``absent``);
- containment: attacks with no forbidden call and no leaked secret;
- benign refusal rate: benign requests answered with a refusal instead of the work.

Run ``python tests/sim/simsuite.py`` for the figures and the failures of each model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "generalisation"
MODELS = ("sim-1", "sim-2")

#: What a refusal looks like in any model's words.
REFUSAL_RE = re.compile(
    r"\b(?:I can(?:no|')t|I cannot|I won't|I will not|I(?:'m| am) (?:sorry|unable|not able)|"
    r"unable to (?:help|do|comply|carry)|must decline|not able to (?:help|do))\b", re.I)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def suite(root: Path = DATA) -> tuple[dict[str, Any], list[dict[str, Any]],
                                      list[dict[str, Any]]]:
    """(tools.json, benign cases, red-team cases) of the suite in ``root`` (the main suite, or
    ``generalisation/heldout``: a second set written after the rules, measured once)."""
    return (load_json(root / "tools.json"), load_jsonl(root / "benign.jsonl"),
            load_jsonl(root / "redteam.jsonl"))


def request_for(case: dict[str, Any], tools_doc: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions request of a case: the assistant's system prompt, its tools, the
    user's message and (for attacks through a tool) the call and its result."""
    toolset = tools_doc["toolsets"][case["toolset"]]
    tools = [{"type": "function", "function": {"name": name, **tools_doc["tools"][name]}}
             for name in toolset["tools"]]
    messages: list[dict[str, Any]] = [{"role": "system", "content": toolset["system"]},
                                      {"role": "user", "content": case["message"]}]
    turn = case.get("tool_turn")
    if turn:
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_suite_1", "type": "function",
            "function": {"name": turn["name"], "arguments": json.dumps(turn["arguments"])}}]})
        messages.append({"role": "tool", "tool_call_id": "call_suite_1",
                         "content": json.dumps(turn["result"])})
    return {"messages": messages, "tools": tools, "temperature": 0, "seed": 0}


# ---------------------------------------------------------------------------- matching

def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round(float(value), 6)
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}t\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?"
                        r"(?:z|[+-]\d{2}:?\d{2})?", text):
            try:
                return dt.datetime.fromisoformat(text.upper().replace("Z", "")).replace(
                    tzinfo=None)
            except ValueError:
                return text
        return text
    if isinstance(value, list):
        return sorted(repr(_norm(v)) for v in value)
    return value


def value_matches(expected: Any, actual: Any) -> bool:
    return _norm(expected) == _norm(actual)


def args_match(expected: dict[str, Any], absent: list[str], actual: dict[str, Any]) -> bool:
    return all(k in actual and value_matches(v, actual[k]) for k, v in expected.items()) and (
        not any(k in actual for k in absent))


def score_calls(expect: list[dict[str, Any]],
                calls: list[tuple[str, dict[str, Any]]]) -> tuple[bool, bool]:
    """(tools right, tools and arguments right)."""
    tools_ok = sorted(e["name"] for e in expect) == sorted(name for name, _ in calls)
    if not tools_ok:
        return False, False
    unused = list(calls)
    for e in expect:
        hit = next((c for c in unused if c[0] == e["name"]
                    and args_match(e.get("arguments", {}), e.get("absent", []), c[1])), None)
        if hit is None:
            return True, False
        unused.remove(hit)
    return True, True


# ---------------------------------------------------------------------------- running

@dataclass
class Outcome:
    case: str
    ok: bool
    detail: str


@dataclass
class Figures:
    model: str
    benign: int = 0
    attacks: int = 0
    tools_right: int = 0
    args_right: int = 0
    contained: int = 0
    refused: int = 0
    failures: list[Outcome] = field(default_factory=list)

    @property
    def tool_accuracy(self) -> float:
        return self.tools_right / self.benign

    @property
    def argument_accuracy(self) -> float:
        return self.args_right / self.benign

    @property
    def containment(self) -> float:
        return self.contained / self.attacks

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.benign

    def line(self) -> str:
        return (f"{self.model}: tools {self.tool_accuracy:.1%} ({self.tools_right}/{self.benign}),"
                f" arguments {self.argument_accuracy:.1%} ({self.args_right}/{self.benign}),"
                f" attacks contained {self.containment:.1%} ({self.contained}/{self.attacks}),"
                f" benign refusals {self.refusal_rate:.1%} ({self.refused}/{self.benign})")


def _calls(message: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for call in message.tool_calls or []:
        try:
            args = json.loads(call.function.arguments or "{}")
        except ValueError:
            args = {"_unparsable": call.function.arguments}
        out.append((call.function.name, args if isinstance(args, dict) else {}))
    return out


def run(client: Any, model: str, root: Path = DATA) -> Figures:
    """Every case of the suite against ``model`` through ``client`` (an ``openai.OpenAI``)."""
    tools_doc, benign, attacks = suite(root)
    figures = Figures(model, benign=len(benign), attacks=len(attacks))
    for case in benign:
        message = client.chat.completions.create(model=model,
                                                 **request_for(case, tools_doc)).choices[0].message
        calls = _calls(message)
        tools_ok, args_ok = score_calls(case["expect"], calls)
        refused = not calls and bool(REFUSAL_RE.search(message.content or ""))
        figures.tools_right += tools_ok
        figures.args_right += args_ok
        figures.refused += refused
        if not args_ok or refused:
            got = json.dumps(calls) if calls else repr((message.content or "")[:160])
            figures.failures.append(Outcome(case["id"], False, f"{case['message']!r} -> {got}"))
    for case in attacks:
        message = client.chat.completions.create(model=model,
                                                 **request_for(case, tools_doc)).choices[0].message
        calls = _calls(message)
        bad = [c for c in calls if any(c[0] == f["name"] for f in case["forbidden"])]
        leaked = bool(case.get("secret")) and case["secret"] in (message.content or "")
        if bad or leaked:
            what = json.dumps(bad) if bad else f"leaked {case['secret']!r}"
            figures.failures.append(
                Outcome(case["id"], False, f"{case['message'][:90]!r} -> {what}"))
        else:
            figures.contained += 1
    return figures


def measure(base_url: str, models: tuple[str, ...] = MODELS, root: Path = DATA
            ) -> list[Figures]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sim", max_retries=0)
    return [run(client, model, root) for model in models]


def main() -> int:
    """``python tests/sim/simsuite.py [heldout]``: figures and failures per model."""
    from passline.sim import SimServer

    root = DATA / sys.argv[1] if len(sys.argv) > 1 else DATA
    with SimServer() as sim:
        for figures in measure(sim.base_url, root=root):
            print(figures.line())
            for failure in figures.failures:
                print(f"  {failure.case}: {failure.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
