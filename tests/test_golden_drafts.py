"""Golden drafts from recorded traffic: needs-review rows, refused by lock until reviewed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passline.cli import main
from passline.errors import DatasetError
from passline.golden import load_cases, lock
from passline.golden._review import draft_from_traces, review
from passline.traffic import TrafficStore, import_files

FIXTURES = Path(__file__).parent / "fixtures" / "traffic"


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "golden").mkdir()
    monkeypatch.chdir(tmp_path)
    store = TrafficStore(tmp_path / ".passline" / "traffic")
    import_files([FIXTURES / "otlp-genai.json", FIXTURES / "litellm.jsonl"], store)
    return tmp_path, store


def test_draft_rows_carry_production_answer_as_candidate_expectation(project):
    root, store = project
    target, added, present = draft_from_traces("prod", store.select(), root=root)
    assert (target.name, added, present) == ("v1", 3, 0)
    rows = [json.loads(x) for x in (target / "data.jsonl").read_text().splitlines()]
    refund = next(r for r in rows if "refund" in r["input"]["message"])
    assert refund["expected"]["answer"] == "I have started a refund of $42.00 for ORD-10002."
    assert refund["expected"]["tool_calls"] == [
        {"name": "issue_refund", "arguments": {"order_id": "ORD-10002", "amount_usd": 42.0}}]
    assert "needs-review" in refund["tags"] and "source:traffic" in refund["tags"]
    assert refund["input"]["message"].endswith("[EMAIL]")  # redacted at import, stays so
    assert refund["metadata"]["traffic_id"] and refund["metadata"]["recorded_at"]
    assert "needs-review" in (target / "card.md").read_text()


def test_lock_refuses_unreviewed_rows_with_file_and_line(project):
    root, store = project
    draft_from_traces("prod", store.select(), root=root)
    with pytest.raises(DatasetError) as info:
        lock(root)
    assert "golden/prod/v1/data.jsonl:1: case 'traffic-" in str(info.value)
    assert "passline golden review prod@v1 --accept traffic-" in str(info.value)
    done, left = review("prod", "v1", reviewer="Ana", accept=[f"traffic-{store.select()[0].id}"],
                        root=root)
    assert len(done) == 1 and len(left) == 2
    with pytest.raises(DatasetError, match=":2: case"):
        lock(root)
    review("prod", "v1", reviewer="Ana", accept_all=True, root=root)
    lock(root)
    cases = load_cases("prod@v1", root=root)
    assert all("needs-review" not in c.tags for c in cases)
    assert cases[0].metadata["reviewed"]["by"] == "Ana"


def test_editing_the_row_and_deleting_the_tag_is_a_review(project):
    root, store = project
    target, _, _ = draft_from_traces("prod", store.select()[:1], root=root)
    row = json.loads((target / "data.jsonl").read_text())
    row["expected"]["answer"] = "Invoice INV-2001 is paid in full."
    row["tags"].remove("needs-review")
    (target / "data.jsonl").write_text(json.dumps(row) + "\n")
    lock(root)


def test_a_second_draft_is_a_new_version_without_duplicates(project):
    root, store = project
    draft_from_traces("prod", store.select()[:1], root=root)
    review("prod", "v1", reviewer="Ana", accept_all=True, root=root)
    target, added, present = draft_from_traces("prod", store.select(), root=root)
    assert (target.name, added, present) == ("v2", 2, 1)


def test_cli_draft_from_flagged_shadow_cases_and_review(project, capsys):
    root, store = project
    ids = [r.id for r in store.select()]
    flagged = root / "shadow"
    flagged.mkdir()
    (flagged / "flagged.jsonl").write_text(
        json.dumps({"id": ids[0], "reasons": ["candidate-worse"], "why": "A is better"}) + "\n"
        + json.dumps({"id": ids[1], "reasons": ["trajectory-differs"], "why": "step 1"}) + "\n")
    assert main(["golden", "draft", "prod", "--from-traces", "--flagged", str(flagged),
                 "--reason", "candidate-worse", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"dataset": "prod@v1", "path": "golden/prod/v1", "added": 1,
                   "already_present": 0}
    assert main(["golden", "review", "prod@v1"]) == 0
    listing = capsys.readouterr().out
    assert "golden/prod/v1/data.jsonl:1:" in listing and "flagged:  A is better" in listing
    assert main(["golden", "lock"]) == 2
    assert main(["golden", "review", "prod@v1", "--all"]) == 2
    assert "--reviewer NAME is required" in capsys.readouterr().err
    assert main(["golden", "review", "prod@v1", "--all", "--reviewer", "Ana"]) == 0
    assert main(["golden", "lock"]) == 0
