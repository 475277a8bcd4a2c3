"""Shadow runs: a candidate on recorded traffic, judged against production, gated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passline._types import Variant
from passline.cli import main
from passline.settings import Settings
from passline.shadow import REPLAY_AGENT, shadow, trajectory_difference
from passline.traffic import Selection, TrafficStore, import_files

ROOT = Path(__file__).resolve().parents[1]
SPANS = ROOT / "examples" / "traffic" / "production-spans.json"
PROXY = ROOT / "tests" / "fixtures" / "traffic" / "openai-proxy.jsonl"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = TrafficStore(tmp_path_factory.mktemp("traffic"))
    import_files([SPANS], store)
    return store


def test_a_deliberately_worse_candidate_is_detected_and_blocked(store, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    # the simulator's judge is not trusted (never calibrated here): the project opts in
    settings = Settings.resolve({"run_dir": str(tmp_path / "runs"),
                                 "untrusted_judge": "gate"}, root=ROOT)
    result = shadow(settings, variant=Variant("refuses", "sim-2", "v2"),
                    records=store.select(), out_dir=tmp_path / "out",
                    agent="shadow_agents:refuses", root=ROOT, selection="all")
    s = result.summary
    assert result.verdict.status == "regressed" and result.exit_code == 1
    assert s["production_wins"] > s["candidate_wins"] + 10
    assert s["judged_runs"] == 24 == s["planned_runs"]
    # the report, with production as the baseline side, and the shadow's own files
    html = result.index_html.read_text(encoding="utf-8")
    assert "production" in html and "refuses" in html
    assert "## Shadow run on recorded traffic" in result.summary_md.read_text()
    flagged = [json.loads(line) for line in (tmp_path / "out" / "flagged.jsonl").open()]
    assert len(flagged) == s["flagged"] >= s["production_wins"]
    assert all("candidate-worse" in f["reasons"] for f in flagged if f["why"].startswith(
        "[A = production, B = candidate]") and "A is better" in f["why"])
    # both sides are ordinary run records: production's figures come from the traffic
    manifest = json.loads((result.production_dir / "manifest.json").read_text())
    assert manifest["variant"]["name"] == "production"
    assert manifest["totals"]["cost_usd"] > 0 and manifest["totals"]["n"] == 24
    rows = [json.loads(line) for line in (result.candidate_dir / "results.jsonl").open()]
    assert {s["name"] for s in rows[0]["scores"]} == {"pairwise:answer-quality@1",
                                                      "trajectory_vs_production"}


def test_replay_re_sends_recorded_calls_and_caps_cost(tmp_path):
    store = TrafficStore(tmp_path / "t")
    import_files([PROXY], store)
    settings = Settings.resolve({"run_dir": str(tmp_path / "runs"),
                                 "untrusted_judge": "gate"}, root=ROOT)
    records = store.select(Selection())
    result = shadow(settings, variant=Variant("cand", "sim-2", "v1"), records=records,
                    out_dir=tmp_path / "out", agent=REPLAY_AGENT, root=ROOT, trials=2)
    assert result.summary["judged_runs"] == 4
    rows = [json.loads(line) for line in (result.candidate_dir / "results.jsonl").open()]
    assert all(r["run"]["usage"]["calls"] == 1 for r in rows)  # one model call each
    calls = (result.candidate_dir / "calls.jsonl").read_text()
    assert "ORD-10001" in calls and "ana.lopez" not in calls  # the redacted input was sent
    capped = shadow(settings, variant=Variant("cand2", "sim-2", "v1"), records=records,
                    out_dir=tmp_path / "out2", agent=REPLAY_AGENT, root=ROOT, trials=40,
                    max_cost_usd=0.0)
    assert capped.summary["stopped_by_cost_cap"]
    assert capped.summary["judged_runs"] < capped.summary["planned_runs"] == 80


def test_trajectory_difference_names_the_first_step_that_parts():
    from passline._types import ToolCall

    same, note = trajectory_difference([{"name": "get_order", "arguments": {"order_id": "A"}}],
                                       [ToolCall("get_order", {"order_id": "A"})])
    assert same and note == "same 1 tool call(s)"
    same, note = trajectory_difference(
        [{"name": "get_order", "arguments": {"order_id": "A"}}],
        [ToolCall("get_order", {"order_id": "A"}), ToolCall("issue_refund", {"order_id": "A"})])
    assert not same and note.startswith('step 2: production (none), candidate issue_refund(')


def test_cli_refuses_a_candidate_named_production_and_an_empty_selection(tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["traces", "import", str(PROXY)]) == 0
    assert main(["shadow", "--candidate", "production=sim-2:v1", "--replay"]) == 2
    assert "cannot be named 'production'" in capsys.readouterr().err
    assert main(["shadow", "--candidate", "c=sim-2:v1", "--replay", "--tag", "nope"]) == 2
    assert "selection is empty" in capsys.readouterr().err


def test_a_shadow_run_replays_from_the_cache(tmp_path):
    store = TrafficStore(tmp_path / "t")
    import_files([PROXY], store)
    cache = tmp_path / "cache.sqlite"
    records = store.select()

    def run(mode: str, name: str):
        settings = Settings.resolve({"run_dir": str(tmp_path / "runs"), "cache": mode,
                                     "cache_path": str(cache)}, root=ROOT)
        return shadow(settings, variant=Variant(name, "sim-2", "v1"), records=records,
                      out_dir=tmp_path / name, agent=REPLAY_AGENT, root=ROOT)

    recorded = run("rw", "cand")
    replayed = run("replay", "cand")  # every model and judge call answered by the cache
    manifest = json.loads((replayed.candidate_dir / "manifest.json").read_text())
    assert manifest["cache"]["misses"] == 0 and manifest["cache"]["hits"] > 0
    answers = [[json.loads(line)["run"]["answer"] for line in (r.candidate_dir /
                                                               "results.jsonl").open()]
               for r in (recorded, replayed)]
    assert answers[0] == answers[1]
    assert recorded.summary["candidate_wins"] == replayed.summary["candidate_wins"]


def test_an_untrusted_judge_informs_but_decides_nothing(store, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    settings = Settings.resolve({"run_dir": str(tmp_path / "runs")}, root=ROOT)
    assert settings.untrusted_judge == "inform"
    result = shadow(settings, variant=Variant("refuses", "sim-2", "v2"),
                    records=store.select(Selection(sample=8, seed=1)), out_dir=tmp_path / "o",
                    agent="shadow_agents:refuses", root=ROOT)
    s = result.summary
    assert s["production_wins"] > s["candidate_wins"]  # still detected and reported...
    assert not s["judge_decides"] and result.verdict.status != "regressed"  # ...not gated
    rows = [json.loads(line) for line in (result.candidate_dir / "results.jsonl").open()]
    assert all(r["status"] == "pass" for r in rows)
    pair = rows[0]["scores"][0]
    assert pair["details"]["advisory"] is True
    # never calibrated on a fresh clone; a developer's checkout may hold a stored calibration
    # of the simulator judge below judge_min_kappa (.passline/judges/): untrusted either way
    assert pair["explanation"].startswith("[informational: untrusted judge, ")
    assert "its verdicts are informational" in result.summary_md.read_text()
