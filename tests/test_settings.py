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


def test_numeric_strings_in_pyproject_are_coerced_like_env_values(tmp_path):
    # review #13: `concurrency = "8"` crashed `passline config` with a TypeError
    s = Settings.resolve(env={}, root=_project(tmp_path, 'concurrency = "8"\ntemperature = 1'))
    assert s.concurrency == 8 and isinstance(s.concurrency, int)
    assert s.temperature == 1.0 and isinstance(s.temperature, float)


@pytest.mark.parametrize(("body", "expected"), [
    ("temperature = [1]", "temperature = \\[1\\] \\(list\\) should be a number"),
    ("concurrency = 2.5", "concurrency = 2.5 \\(float\\) should be an integer"),
    ("concurrency = true", "concurrency = True \\(bool\\) should be an integer"),
    ("model = 3", "model = 3 \\(int\\) should be a string"),
    ("pricing = 3", "pricing = 3 \\(int\\) should be a table"),
    ('temperature = "hot"', "temperature.*cannot be 'hot'"),
])
def test_wrong_types_in_pyproject_name_the_file_the_key_and_the_type(tmp_path, body, expected):
    root = _project(tmp_path, body)
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.passline\] " + expected):
        Settings.resolve(env={}, root=root)


def test_credentials_in_base_url_never_reach_the_public_dict(tmp_path):
    s = Settings.resolve({"base_url": "https://bob:tok-canary-1234@proxy.example:8443/v1"},
                         env={}, root=tmp_path)
    public = s.public_dict()
    assert public["base_url"] == "https://***@proxy.example:8443/v1"
    assert "tok-canary" not in repr(public) and "bob" not in repr(public)
    assert s.base_url.startswith("https://bob:")  # the client still gets the real URL


@pytest.mark.parametrize(("url", "shown"), [
    ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    ("http://u:p@h/v1", "http://***@h/v1"),
    ("http://tok@h:1/a@b", "http://***@h:1/a@b"),
    ("https://h/v1?api-key=s3cret&x=1", "https://h/v1?api-key=***&x=***"),
    ("user:pw@host:8000/v1", "***@host:8000/v1"),
    ("", ""),
])
def test_redact_url(url, shown):
    from passline.settings import redact_url

    assert redact_url(url) == shown
