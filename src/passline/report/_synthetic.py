"""Synthetic run records for the report's tests, benchmark and docs screenshots.

Two runs of one made-up suite with known regressions, improvements, flaky and errored
cases, traces, tool calls and judge rationales; optionally with hostile strings (the XSS
corpus) in every field a report displays.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

XSS_CORPUS = (
    "<script>window.__xss=1</script>",
    "\"><img src=x onerror=window.__xss=1>",
    "javascript:window.__xss=1",
    "</script><script>window.__xss=1</script>",
    "{{7*7}}",
    "\u202eevil\u202c bidi",
    "<svg onload=window.__xss=1>",
    "'><iframe srcdoc='<script>parent.__xss=1</script>'>",
    "<!--<script>window.__xss=1</script>",
    "${7*7}&amp;<b>bold</b>",
)

WORKERS = ("support", "finance", "policy")
INTENTS = {"support": ("refund", "cancel", "track"), "finance": ("balance", "invoice"),
           "policy": ("returns", "warranty")}
TOOLS = {"refund": "issue_refund", "cancel": "cancel_order", "track": "get_order",
         "balance": "query_ledger", "invoice": "query_ledger", "returns": "search_policy",
         "warranty": "search_policy"}


@dataclasses.dataclass(frozen=True)
class SyntheticRuns:
    """Two run directories and what the report must find in them."""

    baseline: Path
    candidate: Path
    regressed: tuple[str, ...]
    improved: tuple[str, ...]
    flaky: tuple[str, ...]
    errored: tuple[str, ...]
    case_ids: tuple[str, ...]


def _spans(rng: random.Random, worker: str, tool: str, ok: bool, name_extra: str
           ) -> tuple[list[dict[str, Any]], float, int, float]:
    t = 0.0
    spans: list[dict[str, Any]] = []
    cost = 0.0
    tokens = 0

    def usage(p: int, c: int) -> dict[str, Any]:
        nonlocal cost, tokens
        price = (p * 0.15 + c * 0.6) / 1e6
        cost += price
        tokens += p + c
        return {"prompt_tokens": p, "completion_tokens": c, "cost_usd": price, "calls": 1,
                "cached_calls": 0}

    def add(sid: str, parent: str | None, kind: str, name: str, dur: float,
            u: dict[str, Any] | None = None, status: str = "ok",
            attrs: dict[str, Any] | None = None) -> None:
        nonlocal t
        spans.append({"span_id": sid, "parent_id": parent, "kind": kind, "name": name,
                      "start_s": round(t, 4), "end_s": round(t + dur, 4), "status": status,
                      "usage": u or {}, "attributes": attrs or {}})
        t += dur * 0.3

    add("s1", None, "agent", "orchestrator", 1.2)
    add("s2", "s1", "llm", "plan" + name_extra, 0.3, usage(rng.randint(300, 900), 60))
    add("s3", "s1", "worker", worker, 0.7)
    add("s4", "s3", "llm", "choose tool", 0.2, usage(rng.randint(400, 1200), 40))
    add("s5", "s3", "tool", tool, 0.05, status="ok" if ok else "error",
        attrs={} if ok else {"error": "ToolError: order not found"})
    add("s6", "s1", "llm", "compose", 0.3, usage(rng.randint(300, 700), rng.randint(40, 160)))
    add("s7", "s1", "guardrail", "critic", 0.01)
    latency = 1.2 + rng.random() * 0.8
    return spans, cost, tokens, latency


def _row(rng: random.Random, case: dict[str, Any], trial: int, passed: bool,
         errored: bool, variant: str, wrong_tool: bool, hostile: str) -> dict[str, Any]:
    worker, intent = case["worker"], case["intent"]
    tool = TOOLS[intent]
    used = "get_order" if wrong_tool and tool != "get_order" else tool
    if wrong_tool and tool == "get_order":
        used = "cancel_order"
    args = {"order_id": case["order"], "note": hostile} if hostile else {"order_id": case["order"]}
    spans, cost, tokens, latency = _spans(rng, worker, used, not errored, hostile[:20])
    answer = (f"I checked order {case['order']} for you. "
              + ("The refund of $42.10 has been issued and will arrive in 3-5 business days."
                 if passed else "I could not find a refund for this order; please contact us.")
              + (f" {hostile}" if hostile else ""))
    scores: list[dict[str, Any]] = [
        {"name": "tool_choice", "value": 1.0 if used == tool else 0.0, "passed": used == tool,
         "explanation": f"called {used}" + ("" if used == tool else f", expected {tool}"),
         "details": {}},
        {"name": "answer_facts", "value": 1.0 if passed else 0.4, "passed": passed,
         "explanation": "all facts present" if passed else "missing fact: refund amount $42.10",
         "details": {}},
    ]
    if case["judged"]:
        scores.append({"name": "judge:helpfulness", "value": 0.9 if passed else 0.3,
                       "passed": passed, "explanation": "rubric helpfulness@v1",
                       "details": {"rationale": ("Clear and grounded." if passed else
                                                 "Does not answer the question. " + hostile),
                                   "judge_cost_usd": 0.0002}})
    status = "error" if errored else ("pass" if passed else "fail")
    run = {
        "answer": "" if errored else answer,
        "tool_calls": [] if errored else [
            {"name": "get_order", "arguments": {"order_id": case["order"]}, "id": "c1",
             "result": {"status": "delivered"}, "error": None, "worker": worker},
            {"name": used, "arguments": args, "id": "c2", "result": "ok", "error": None,
             "worker": worker}],
        "state_changes": [], "trace": spans,
        "usage": {"prompt_tokens": tokens - 200, "completion_tokens": 200, "cost_usd": cost,
                  "calls": 3, "cached_calls": 0},
        "status": "error" if errored else "ok",
        "error": "ModelError: 503 from endpoint after 4 retries" if errored else None,
        "guardrail": None, "latency_s": latency, "steps": 4, "metadata": {},
    }
    mean = 0.0 if errored else sum(s["value"] for s in scores) / len(scores)
    return {
        "variant": variant, "eval": "evals/test_support.py::test_answers",
        "case_id": case["id"], "dataset": "support-unit", "dataset_version": "v2",
        "tags": case["tags"], "cluster": case["cluster"], "trial": trial, "status": status,
        "scores": [] if errored else scores, "score": mean, "run": run,
        "input": {"message": case["message"]},
        "expected": {"tool": tool, "facts": ["$42.10"]},
        "cost_usd": 0.0 if errored else cost, "tokens": 0 if errored else tokens,
        "latency_s": latency, "judge_cost_usd": 0.0002 if case["judged"] else 0.0,
        "error": run["error"],
    }


def write_synthetic_runs(root: str | Path, *, n_cases: int = 40, trials: int = 1,
                         seed: int = 0, n_regressed: int = 5, n_improved: int = 3,
                         n_flaky: int = 2, n_errored: int = 1, hostile: bool = False,
                         judges: bool = True, only_in_baseline: int = 0,
                         fingerprint_changed: bool = False) -> SyntheticRuns:
    """Write ``root/baseline`` and ``root/candidate`` run records and say what changed.

    Every third passing case regresses (wrong tool, missing fact) up to ``n_regressed``, the
    first ``n_improved`` failing ones improve, ``n_errored`` candidate cases error; with
    ``trials >= 2`` ``n_flaky`` candidate cases fail their last trial only (a regression
    with two trials, a flaky pass with three). The last ``only_in_baseline`` cases are
    missing from the candidate. ``regressed``/``improved`` list the majority-verdict flips.
    With ``hostile`` the XSS corpus appears in case ids, tags, inputs,
    answers, tool arguments, explanations, span names, run ids, variant names and prompts.
    """
    from passline.records import RunWriter

    rng = random.Random(seed)
    root = Path(root)
    cases: list[dict[str, Any]] = []
    for i in range(n_cases):
        worker = WORKERS[i % len(WORKERS)]
        intent = INTENTS[worker][(i // 3) % len(INTENTS[worker])]
        evil = XSS_CORPUS[i % len(XSS_CORPUS)] if hostile and i < 2 * len(XSS_CORPUS) else ""
        case_id = f"{intent}-{i:05d}" + (f"-{evil}" if evil and i % 2 == 0 else "")
        tags = [f"worker:{worker}", f"intent:{intent}",
                f"difficulty:{('easy', 'hard')[i % 2]}"]
        if i % 7 == 0:
            tags.append("must-pass")
        if evil:
            tags.append(f"note:{evil}")
        cases.append({"id": case_id, "worker": worker, "intent": intent, "tags": tags,
                      "cluster": f"tmpl-{intent}-{i % 5}", "order": f"ORD-{10000 + i}",
                      "judged": i % 3 == 0,
                      "message": f"Where is my refund for order ORD-{10000 + i}? {evil}"})
    base_pass = [rng.random() < 0.8 for _ in cases]
    cand_pass = list(base_pass)
    # regressions and improvements come from cases spread through the list
    n_paired = n_cases - only_in_baseline
    passing = [i for i, p in enumerate(base_pass[:n_paired]) if p]
    failing = [i for i, p in enumerate(base_pass[:n_paired]) if not p]
    regressed = passing[1::3][:n_regressed]
    improved = failing[:n_improved]
    for i in regressed:
        cand_pass[i] = False
    if regressed and "must-pass" not in cases[regressed[0]]["tags"]:
        # a must-pass regression: a warning, or a failure once confirmation runs confirm it
        cases[regressed[0]]["tags"].append("must-pass")
    for i in improved:
        cand_pass[i] = True
    used = set(regressed) | set(improved)
    errored = [i for i in passing if i not in used][-n_errored:] if n_errored else []
    flaky = ([i for i in passing if i not in used and i not in errored][:n_flaky]
             if trials >= 2 else [])
    evil0 = XSS_CORPUS[0] if hostile else ""
    evil1 = XSS_CORPUS[3] if hostile else ""
    prompts_b = {"orchestrator/v1.j2": "You are the ops assistant.\nPlan first.\n{{ task }}\n",
                 "support/v1.j2": "Help the customer.\nUse tools.\n"}
    prompts_c = {"orchestrator/v2.j2": "You are the ops assistant.\nPlan, then act."
                                       f" {evil1}\n{{{{ task }}}}\n",
                 "support/v2.j2": "Help the customer.\nUse tools.\n"}
    judge_info = {"helpfulness@v1": {"accuracy": 0.86, "kappa": 0.71, "weighted_kappa": 0.78,
                                     "n_items": 120, "trusted": True,
                                     "position_bias_rate": 0.04}}
    dirs = []
    for side, name, model, prompts, passes in (
            ("baseline", "base" + evil0, "sim-2", "v1", base_pass),
            ("candidate", "cand" + evil1, "sim-2", "v2", cand_pass)):
        run_dir = root / side
        manifest: dict[str, Any] = {
            "run_id": f"{side}-run{evil0 if side == 'baseline' else evil1}",
            "variant": {"name": name, "model": model, "prompts": prompts,
                        "params": {"temperature": 0.0 if side == "baseline" else 0.2}},
            "passline_version": "0.1.0", "git_sha": None,
            "datasets": {"support-unit@v2": {
                "name": "support-unit", "version": "v2",
                # the candidate's dataset lacks the cases that are in the baseline only
                "n_cases": n_cases - (only_in_baseline if side == "candidate" else 0),
                "fingerprint": "def456" if fingerprint_changed and side == "candidate"
                else "abc123"}},
            "settings": {"model": model, "prompts": prompts, "trials": trials,
                         "concurrency": 32},
            "trials": trials,
            "prompts": prompts_b if side == "baseline" else prompts_c,
        }
        if judges:
            manifest["judges"] = judge_info
        writer = RunWriter(run_dir, manifest)
        for i, case in enumerate(cases):
            for t in range(trials):
                if side == "candidate" and i >= n_cases - only_in_baseline:
                    continue
                ok = passes[i]
                if side == "candidate" and i in flaky and t == trials - 1:
                    ok = False
                err = i in errored and side == "candidate"
                wrong = (side == "candidate" and i in regressed)
                evil = XSS_CORPUS[i % len(XSS_CORPUS)] if hostile and i < 20 else ""
                writer.write(_row(rng, case, t, ok and not err, err, name, wrong, evil))
        writer.finish()
        dirs.append(run_dir)
    ids: list[str] = [str(c["id"]) for c in cases]
    paired = range(n_paired)

    def cand_passes(i: int) -> bool:
        if i in errored:
            return False
        wins = sum(cand_pass[i] and not (i in flaky and t == trials - 1) for t in range(trials))
        return wins * 2 > trials

    flips_down = tuple(ids[i] for i in paired if base_pass[i] and not cand_passes(i))
    flips_up = tuple(ids[i] for i in paired if not base_pass[i] and cand_passes(i))
    return SyntheticRuns(dirs[0], dirs[1], flips_down, flips_up,
                         tuple(ids[i] for i in flaky), tuple(ids[i] for i in errored),
                         tuple(ids))
