"""Golden datasets: validation with file:line, the lock, loading, diff and versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import passline.cli
from passline.errors import DatasetError
from passline.golden import (
    dataset_fingerprint,
    diff,
    load_arrow,
    load_cases,
    lock,
    new_version,
    parse_ref,
    validate,
)

ROWS = [
    {"id": "refund-001", "input": {"message": "Refund ORD-10042 please", "user_id": "CUS-0001"},
     "expected": {"tool_calls": [{"name": "issue_refund",
                                  "arguments": {"order_id": "ORD-10042", "amount_usd": 25.5}}],
                  "facts": ["25.50"]},
     "tags": ["worker:support", "must-pass"], "metadata": {"cluster": "tmpl-refund-1"}},
    {"id": "policy-002", "input": {"message": "How long do I have to return an item?"},
     "expected": {"trajectory": ["search_policies"], "facts": ["30 days"]},
     "tags": ["worker:policy"]},
]


def write_dataset(root: Path, name: str, version: str, rows: list | str,
                  card: str | None = "# card\n\n## Changelog\n\n- v1: first\n") -> Path:
    vdir = root / "golden" / name / version
    vdir.mkdir(parents=True, exist_ok=True)
    text = rows if isinstance(rows, str) else "".join(json.dumps(r) + "\n" for r in rows)
    (vdir / "data.jsonl").write_text(text, encoding="utf-8")
    if card is not None:
        (vdir / "card.md").write_text(card, encoding="utf-8")
    return vdir / "data.jsonl"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `passline ...` in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(passline.cli, "SUBCOMMAND_MODULES", ["passline.cli.golden"])

    def run(*argv: str) -> tuple[int, str, str]:
        code = passline.cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# ----------------------------------------------------------------------- loading and refs


def test_load_cases_from_golden_ref(tmp_path):
    write_dataset(tmp_path, "support", "v1", ROWS)
    lock(tmp_path)
    cases = load_cases("support@v1", root=tmp_path)
    assert [c.ref for c in cases] == ["support@v1:refund-001", "support@v1:policy-002"]
    first = cases[0]
    assert first.input["user_id"] == "CUS-0001"
    assert first.expected["tool_calls"][0]["arguments"] == {"order_id": "ORD-10042",
                                                            "amount_usd": 25.5}
    assert first.tags == ("worker:support", "must-pass")
    assert first.metadata == {"cluster": "tmpl-refund-1"}
    assert cases[1].expected == ROWS[1]["expected"] and cases[1].metadata == {}
    assert [c.id for c in load_cases("support@latest", root=tmp_path)] == ["refund-001",
                                                                           "policy-002"]


def test_parquet_loads_through_datasets_like_jsonl(tmp_path):
    pd = pytest.importorskip("pandas")
    as_json = pd.DataFrame([{**r, "input": json.dumps(r["input"]),
                             "expected": json.dumps(r["expected"]),
                             "metadata": json.dumps(r.get("metadata", {}))} for r in ROWS])
    as_json.to_parquet(tmp_path / "strings.parquet")
    # Struct columns: Arrow pads rows with the union of keys (nulls), which must not leak.
    pd.DataFrame(ROWS).to_parquet(tmp_path / "structs.parquet")
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    want = [(c.id, dict(c.input), dict(c.expected), c.tags) for c in load_cases(jsonl)]
    for name in ("strings.parquet", "structs.parquet"):
        cases = load_cases(tmp_path / name)
        assert [(c.id, dict(c.input), dict(c.expected), c.tags) for c in cases] == want, name
        assert cases[0].dataset == Path(name).stem


def test_parquet_problems_name_the_row(tmp_path):
    pd = pytest.importorskip("pandas")
    pd.DataFrame([{"id": "ok-1", "input": json.dumps({"message": "hi"})},
                  {"id": "Bad Id", "input": "{not json"}]).to_parquet(tmp_path / "bad.parquet")
    problems = validate(tmp_path / "bad.parquet")
    assert {(p.line, p.message.split(" ")[0]) for p in problems} == {(2, "input")}


def test_load_arrow_gives_a_datasets_dataset_with_json_columns(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    ds = load_arrow(path)
    assert len(ds) == 2 and ds[1]["expected"] == ROWS[1]["expected"]
    assert ds[0]["input"] == ROWS[0]["input"]  # no null padding of missing keys


def test_bad_refs_say_how_to_fix(tmp_path):
    write_dataset(tmp_path, "support", "v1", ROWS)
    with pytest.raises(DatasetError, match="not NAME@VERSION"):
        parse_ref("support", root=tmp_path)
    with pytest.raises(DatasetError, match=r"no version 'v9' \(versions: v1\)"):
        parse_ref("support@v9", root=tmp_path)
    with pytest.raises(DatasetError, match=r"known: support"):
        parse_ref("billing@v1", root=tmp_path)
    with pytest.raises(DatasetError, match="must pin a revision"):
        parse_ref("hf://org/cases")
    hf = parse_ref("hf://org/cases@abc123#test")
    assert (hf.kind, hf.name, hf.version, hf.split) == ("hf", "org/cases", "abc123", "test")


# ----------------------------------------------------------------------------- validation


BAD_LINES = [
    json.dumps(ROWS[0]),                                                   # 1 ok
    '{"id": "x-1", "input": {"message": "hi"},}',                          # 2 invalid JSON
    json.dumps({"id": "no-input"}),                                        # 3 missing input
    json.dumps({"id": "Bad Id", "input": {"message": "hi"}}),              # 4 bad id
    json.dumps({"id": "refund-001", "input": {"message": "again"}}),       # 5 duplicate of 1
    "",                                                                    # 6 blank: skipped
    json.dumps({"id": "t-7", "input": {"message": "hi"},                   # 7 unknown tool
                "expected": {"tool_calls": [{"name": "delete_everything"}],
                             "forbidden": ["issue_refund", "drop_table"]}}),
    json.dumps({"id": "t-8", "input": {"message": "hi"}, "tags": "must-pass",  # 8 mistyped
                "expected": {"facts": [3], "status": "fine", "budget": {"max_steps": -1}}}),
    json.dumps({"id": "t-9", "input": {"message": "hi"}, "expectd": {}}),  # 9 unknown field
    json.dumps([1, 2]),                                                    # 10 not an object
]

KNOWN = {"issue_refund", "get_order", "search_policies"}


def test_every_validation_error_names_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(BAD_LINES) + "\n")
    problems = validate(path, known_tools=KNOWN)
    got = {(p.line, frag) for p in problems for frag in (
        "invalid JSON", 'missing required field "input"', "not a valid case id",
        "duplicate id 'refund-001' (also on line 1)", "unknown tool 'delete_everything'",
        "unknown tool 'drop_table'", "tags must be an array", "expected.facts",
        "expected.status", "expected.budget.max_steps", "unknown field 'expectd'",
        "must be a JSON object") if frag in p.message}
    assert got == {
        (2, "invalid JSON"), (3, 'missing required field "input"'),
        (4, "not a valid case id"), (5, "duplicate id 'refund-001' (also on line 1)"),
        (7, "unknown tool 'delete_everything'"), (7, "unknown tool 'drop_table'"),
        (8, "tags must be an array"), (8, "expected.facts"), (8, "expected.status"),
        (8, "expected.budget.max_steps"), (9, "unknown field 'expectd'"),
        (10, "must be a JSON object"),
    }
    assert all(p.path.endswith("bad.jsonl") for p in problems)
    assert not any(p.line == 1 for p in problems)
    # without known_tools, tool names are not checked
    assert not any("unknown tool" in p.message for p in validate(path))


def test_empty_file_is_a_problem(tmp_path):
    write_dataset(tmp_path, "empty", "v1", "\n")
    problems = validate("empty@v1", root=tmp_path)
    assert any(p.line is None and "no cases" in p.message for p in problems)


def test_load_cases_raises_one_error_listing_all_problems(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(BAD_LINES) + "\n")
    with pytest.raises(DatasetError) as info:
        load_cases(path)
    err = info.value
    assert err.line == 2 and err.path.endswith("bad.jsonl")
    assert str(err).startswith(f"{err.path}:2: invalid JSON")
    assert ":10: a row must be a JSON object" in str(err)

    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({"id": f"BAD{i}", "input": {"message": "m"}}) + "\n"
                            for i in range(30)))
    with pytest.raises(DatasetError) as info:
        load_cases(many)
    text = str(info.value)
    assert ":20: " in text and ":21: " not in text
    assert "and 10 more; run `passline golden validate" in text


# -------------------------------------------------------------------------------- the lock


def test_changed_data_without_version_bump_is_caught(tmp_path, cli):
    data = write_dataset(tmp_path, "support", "v1", ROWS)
    code, out, _ = cli("golden", "lock", "--root", str(tmp_path))
    assert code == 0 and "added: support@v1" in out
    lock_file = json.loads((tmp_path / "golden" / "golden.lock").read_text())
    assert lock_file == {"schema_version": 1, "datasets": {"support@v1": {
        "sha256": dataset_fingerprint(data), "n_cases": 2,
        "card_sha256": dataset_fingerprint(data.parent / "card.md")}}}
    assert validate(root=tmp_path) == []

    data.write_text(data.read_text().replace("30 days", "45 days"))
    problems = validate(root=tmp_path)
    assert [str(p) for p in problems] == [
        "golden/support/v1/data.jsonl: golden/support/v1/data.jsonl changed but its version "
        "was not bumped; run `passline golden new-version support` to put the change in a new "
        "version and restore v1 (e.g. `git checkout -- golden/support/v1/data.jsonl`); if v1 "
        "was never used by a baseline, `passline golden lock --force` re-pins it"]
    with pytest.raises(DatasetError, match="changed but its version was not bumped"):
        load_cases("support@v1", root=tmp_path)
    code, _, err = cli("golden", "lock", "--root", str(tmp_path))
    assert code == 2 and "refusing to re-pin" in err
    code, out, _ = cli("golden", "lock", "--force", "--root", str(tmp_path))
    assert code == 0 and "updated: support@v1" in out
    assert load_cases("support@v1", root=tmp_path)[1].expected["facts"] == ["45 days"]
    assert not list((tmp_path / "golden").glob(".golden.lock.*"))  # atomic write left no temp


def test_lock_covers_cards_and_unpinned_versions(tmp_path):
    write_dataset(tmp_path, "support", "v1", ROWS)
    write_dataset(tmp_path, "nocard", "v1", ROWS, card=None)
    messages = [p.message for p in validate(root=tmp_path)]
    assert any("support@v1 is not in golden.lock" in m for m in messages)
    assert any("card.md is missing" in m for m in messages)
    lock(tmp_path)
    card = tmp_path / "golden" / "support" / "v1" / "card.md"
    card.write_text(card.read_text() + "more words\n")
    messages = [str(p) for p in validate("support@v1", root=tmp_path)]
    assert messages == ["golden/support/v1/card.md: card.md changed since golden.lock was "
                        "written; run `passline golden lock` to record it"]
    # loading only refuses changed data, not docs
    assert len(load_cases("support@v1", root=tmp_path)) == 2


def test_corrupt_lock_is_reported_and_regenerated_with_force(tmp_path):
    write_dataset(tmp_path, "support", "v1", ROWS)
    (tmp_path / "golden" / "golden.lock").write_text('{"schema_version": 1,\n')
    with pytest.raises(DatasetError, match=r"golden.lock:2: golden.lock is not valid JSON"):
        validate(root=tmp_path)
    with pytest.raises(DatasetError, match="lock --force"):
        lock(tmp_path)
    assert lock(tmp_path, force=True).added == ("support@v1",)
    assert validate(root=tmp_path) == []


def test_fingerprint_ignores_line_ending_style(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b'{"id": "x"}\n{"id": "y"}\n')
    b.write_bytes(b'{"id": "x"}\r\n{"id": "y"}\r\n')
    assert dataset_fingerprint(a) == dataset_fingerprint(b)
    b.write_bytes(b'{"id": "x"}\n{"id": "z"}\n')
    assert dataset_fingerprint(a) != dataset_fingerprint(b)


# ------------------------------------------------------------------------- diff and versions


def test_diff_lists_added_removed_and_changed_fields(tmp_path, cli):
    write_dataset(tmp_path, "support", "v1", ROWS)
    v2 = [
        {**ROWS[0], "expected": {**ROWS[0]["expected"], "facts": ["25.5"]},
         "tags": ["worker:support", "difficulty:hard"]},
        {"id": "new-003", "input": {"message": "What is my balance?"}},
    ]
    write_dataset(tmp_path, "support", "v2", v2)
    d = diff("support@v1", "support@v2", root=tmp_path)
    assert d.added == ("new-003",) and d.removed == ("policy-002",)
    assert [(c.id, c.fields) for c in d.changed] == [
        ("refund-001", ("expected.facts", "tags (+difficulty:hard, -must-pass)"))]
    assert d.unchanged == 0
    code, out, _ = cli("golden", "diff", "support@v1", "v2", "--root", str(tmp_path))
    assert code == 0
    assert out.splitlines() == [
        "support@v1 -> support@v2: 1 added, 1 removed, 1 changed, 0 unchanged",
        "  + new-003", "  - policy-002",
        "  ~ refund-001: expected.facts, tags (+difficulty:hard, -must-pass)"]


CARD = """# support

Version: v2

## Purpose

Support cases.

## Changelog

- **v1** (2026-01-01): first version.
- **v2** (2026-02-01): more refunds.

## License

CC-BY-4.0
"""


def test_new_version_copies_latest_and_adds_changelog_stub(tmp_path, cli):
    write_dataset(tmp_path, "support", "v1", ROWS[:1])
    data_v2 = write_dataset(tmp_path, "support", "v2", ROWS, card=CARD)
    code, out, _ = cli("golden", "new-version", "support", "--root", str(tmp_path))
    assert code == 0
    v3 = tmp_path / "golden" / "support" / "v3"
    assert (v3 / "data.jsonl").read_bytes() == data_v2.read_bytes()
    card = (v3 / "card.md").read_text()
    assert "Version: v3" in card
    changelog = card.split("## Changelog")[1].split("## License")[0]
    assert changelog.strip().splitlines()[-1].startswith(
        "- **v3** (") and "TODO: what changed since v2" in changelog
    assert "created golden/support/v3 (copied from support@v2)" in out
    assert "passline golden lock && passline golden validate support@v3" in out

    new_dir = new_version("support", root=tmp_path, from_version="v1")
    assert new_dir.name == "v4"
    assert "since v1" in (new_dir / "card.md").read_text()
    assert len(load_cases(new_dir / "data.jsonl", root=tmp_path)) == 1


def test_new_version_of_unknown_dataset_fails_with_usage_error(tmp_path, cli):
    code, _, err = cli("golden", "new-version", "nope", "--root", str(tmp_path))
    assert code == 2 and "no golden dataset 'nope'" in err


# ------------------------------------------------------------------------------------- CLI


def test_cli_validate_prints_file_line_and_exits_2(tmp_path, cli):
    write_dataset(tmp_path, "support", "v1", [ROWS[0], ROWS[0]])
    with pytest.raises(DatasetError, match="duplicate id"):
        lock(tmp_path)  # an invalid dataset is never pinned
    code, out, _ = cli("golden", "validate", "--root", str(tmp_path))
    assert code == 2
    assert ("golden/support/v1/data.jsonl:2: duplicate id 'refund-001' (also on line 1); ids "
            "must be unique within a dataset") in out.splitlines()
    write_dataset(tmp_path, "support", "v1", ROWS)
    lock(tmp_path, force=True)
    code, out, _ = cli("golden", "validate", "--root", str(tmp_path))
    assert (code, out.strip()) == (0, "golden datasets are valid")


def test_cli_validate_known_tools_from_tool_specs(tmp_path, cli):
    write_dataset(tmp_path, "support", "v1", ROWS)
    lock(tmp_path)
    specs = tmp_path / "tools.json"
    specs.write_text(json.dumps({"tools": [
        {"type": "function", "function": {"name": "issue_refund", "parameters": {}}}]}))
    code, out, _ = cli("golden", "validate", "support@v1", "--tool-specs", str(specs),
                       "--root", str(tmp_path))
    assert code == 2
    assert "data.jsonl:2: expected.trajectory[0]: unknown tool 'search_policies'" in out
    code, _, _ = cli("golden", "validate", "support@v1", "--tool-specs", str(specs),
                     "--known-tools", "search_policies", "--root", str(tmp_path))
    assert code == 0


def test_cli_list(tmp_path, cli):
    write_dataset(tmp_path, "support", "v1", ROWS)
    write_dataset(tmp_path, "support", "v10", ROWS[:1])
    write_dataset(tmp_path, "support", "v2", ROWS)
    lock(tmp_path)
    write_dataset(tmp_path, "support", "v2", ROWS[:1])
    code, out, _ = cli("golden", "list", "--json", "--root", str(tmp_path))
    listed = [(d["name"], d["version"], d["n_cases"], d["lock"]) for d in json.loads(out)]
    assert code == 0 and listed == [("support", "v1", 2, "locked"),
                                    ("support", "v2", 1, "changed"),
                                    ("support", "v10", 1, "locked")]


def test_inputs_are_open_objects_with_the_conventional_keys_still_checked(tmp_path):
    rows = [{"id": "a", "input": {"ticket": {"subject": "late parcel", "priority": 2}}},
            {"id": "b", "input": {"message": "hi", "locale": "fr-FR", "attachments": []}},
            {"id": "c", "input": {"message": ""}},
            {"id": "d", "input": {}}]
    write_dataset(tmp_path, "open", "v1", rows)
    problems = [str(p) for p in validate("open@v1", root=tmp_path)]
    assert not any(":1:" in p or ":2:" in p for p in problems), problems
    assert any(":3: input.message must be a non-empty string" in p for p in problems)
    assert any(":4: input is empty" in p for p in problems)


SCHEMA = {"type": "object", "required": ["ticket"], "additionalProperties": False,
          "properties": {"ticket": {"type": "object", "required": ["subject"],
                                    "properties": {"subject": {"type": "string"},
                                                   "priority": {"enum": [1, 2, 3]}}}}}


def test_a_declared_input_schema_is_enforced_with_file_and_line(tmp_path, cli):
    data = write_dataset(tmp_path, "tickets", "v1", [
        {"id": "ok", "input": {"ticket": {"subject": "late parcel", "priority": 2}}},
        {"id": "bad", "input": {"ticket": {"priority": 9}, "message": "extra"}}])
    (data.parent / "input.schema.json").write_text(json.dumps(SCHEMA))
    problems = [str(p) for p in validate("tickets@v1", root=tmp_path)
                if "golden.lock" not in str(p)]  # (never locked: a lock refuses bad rows)
    assert problems and all(p.startswith("golden/tickets/v1/data.jsonl:2: ") for p in problems)
    text = "\n".join(problems)
    assert "input.ticket does not match input.schema.json: 'subject' is a required property" \
        in text
    assert "input.ticket.priority does not match input.schema.json: 9 is not one of [1, 2, 3]" \
        in text
    assert "Additional properties are not allowed ('message' was unexpected)" in text
    with pytest.raises(DatasetError, match=r"data.jsonl:2: input"):
        load_cases("tickets@v1", root=tmp_path)
    code, out, _ = cli("golden", "validate", "tickets@v1", "--root", str(tmp_path))
    assert code == 2 and "golden/tickets/v1/data.jsonl:2: input.ticket" in out


def test_the_input_schema_can_be_named_in_the_card_and_is_pinned_by_the_lock(tmp_path):
    data = write_dataset(tmp_path, "tickets", "v1", [
        {"id": "ok", "input": {"ticket": {"subject": "late parcel"}}}],
        card="---\ninput_schema: schemas/ticket.json\n---\n# tickets\n")
    (data.parent / "schemas").mkdir()
    schema = data.parent / "schemas" / "ticket.json"
    schema.write_text(json.dumps(SCHEMA))
    lock(tmp_path)
    assert validate("tickets@v1", root=tmp_path) == []
    schema.write_text(json.dumps({**SCHEMA, "required": []}))
    problems = [str(p) for p in validate("tickets@v1", root=tmp_path)]
    assert any("ticket.json: the input schema changed since golden.lock" in p for p in problems)


def test_a_broken_input_schema_is_reported_at_the_schema_file(tmp_path):
    data = write_dataset(tmp_path, "tickets", "v1", [{"id": "ok", "input": {"x": 1}}])
    (data.parent / "input.schema.json").write_text('{"type": "objekt"}')
    problems = [str(p) for p in validate("tickets@v1", root=tmp_path)]
    assert any("input.schema.json: not a valid JSON Schema" in p for p in problems), problems
    (data.parent / "input.schema.json").write_text('{"type": ')
    problems = [str(p) for p in validate("tickets@v1", root=tmp_path)]
    assert any("input.schema.json:1: input schema is not valid JSON" in p for p in problems)
