"""Settings resolve CLI > PASSLINE_* env > [tool.passline] > defaults, with their sources."""

from __future__ import annotations

import pytest

from passline.errors import ConfigError
from passline.settings import Settings


def _project(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.passline]\n{body}\n", encoding="utf-8")
    return tmp_path


def test_precedence_cli_over_env_over_pyproject_over_default(tmp_path):
    root = _project(tmp_path, 'model = "sim-1"\nconcurrency = 4\ntrials = 3')
    s = Settings.resolve(
        {"concurrency": "16"}, env={"PASSLINE_TRIALS": "5", "PASSLINE_CONCURRENCY": "8"}, root=root
    )
    assert (s.model, s.concurrency, s.trials, s.prompts) == ("sim-1", 16, 5, "v2")
    assert s.sources["concurrency"] == "cli"
    assert s.sources["trials"] == "env PASSLINE_TRIALS"
    assert s.sources["model"].endswith("pyproject.toml")
    assert s.sources["prompts"] == "default"


def test_pyproject_is_found_from_a_subdirectory(tmp_path):
    root = _project(tmp_path, 'prompts = "v1"')
    sub = root / "evals" / "deep"
    sub.mkdir(parents=True)
    assert Settings.resolve(env={}, root=sub).prompts == "v1"


def test_unknown_key_names_the_file_and_lists_known_keys(tmp_path):
    root = _project(tmp_path, "concurency = 4")
    with pytest.raises(ConfigError, match=r"pyproject.toml: unknown key 'concurency'.*concurrency"):
        Settings.resolve(env={}, root=root)


def test_bad_values_say_where_they_came_from(tmp_path):
    with pytest.raises(ConfigError, match="environment PASSLINE_CONCURRENCY"):
        Settings.resolve(env={"PASSLINE_CONCURRENCY": "many"}, root=tmp_path)
    with pytest.raises(ConfigError, match=r"cache mode 'sometimes'.*off, rw, replay"):
        Settings.resolve({"cache": "sometimes"}, env={}, root=tmp_path)
    with pytest.raises(ConfigError, match="concurrency must be >= 1"):
        Settings.resolve({"concurrency": 0}, env={}, root=tmp_path)


def test_mapping_settings_parse_from_json_in_env(tmp_path):
    s = Settings.resolve(
        env={"PASSLINE_PRICING": '{"my-model": {"input": 1.0, "output": 2.0}}'}, root=tmp_path
    )
    assert s.pricing["my-model"]["output"] == 2.0


def test_secrets_are_not_settings(tmp_path):
    s = Settings.resolve(env={"OPENAI_API_KEY": "sk-test-canary-0000000000"}, root=tmp_path)
    assert "sk-test-canary" not in repr(s.public_dict())
    assert s.api_key_env == "OPENAI_API_KEY"
