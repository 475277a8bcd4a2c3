"""One settings object, resolved CLI > environment (PASSLINE_*) > [tool.passline] > defaults.

``Settings.resolve`` records where each value came from so ``passline config`` can show
why a value is what it is. Secrets are never settings: only the *name* of the environment
variable holding an API key is (``api_key_env``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

from passline.errors import ConfigError

CACHE_MODES = ("off", "rw", "replay")
CAPTURE_MODES = ("on", "off")
UNTRUSTED_JUDGE_MODES = ("inform", "gate")
BASE_URL_PRESETS = ("sim", "openai", "ollama", "vllm", "litellm")  # see models/_endpoint.py


@dataclasses.dataclass(frozen=True)
class Settings:
    # what is evaluated
    agent: str = ""  # "module:function" of the agent under test (evals may name their own)
    model: str = "sim-2"
    prompts: str = "v2"
    judge_model: str = ""  # empty: same as ``model``
    judge_min_kappa: float = 0.6  # a rubric calibrated below this is marked untrusted
    # what an untrusted (or never calibrated) judge's scores do: "inform" -- shown, never
    # failing a case, must-pass or the gate by themselves; "gate" -- they count like any score
    untrusted_judge: str = "inform"
    temperature: float = 0.0
    seed: int = 0
    trials: int = 1
    # where the model lives; empty base_url: the built-in simulator for sim-* models,
    # otherwise OPENAI_BASE_URL or the OpenAI API
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    # how calls are made
    concurrency: int = 32
    # golden cases run by one pytest item: pytest keeps about 5 KB per item for the whole
    # session, so datasets of 10,000s of cases batch them; rows stay one per case
    cases_per_item: int = 1
    model_concurrency: Mapping[str, int] = dataclasses.field(default_factory=dict)
    timeout_s: float = 60.0  # per model call: reading the answer (each attempt)
    connect_timeout_s: float = 5.0  # per attempt: opening the connection
    run_timeout_s: float = 300.0  # per agent run (case x trial x variant), and per scoring
    max_retries: int = 4
    # consecutive connection failures / timeouts after which an endpoint counts as down and
    # every remaining call to it fails at once (0: never give up early)
    fail_fast_after: int = 8
    # seconds a finished session waits for abandoned (stuck) agent or scorer threads before
    # the process is ended anyway
    shutdown_grace_s: float = 5.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    pricing: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    # record/replay cache
    cache: str = "off"
    cache_path: str = ".passline/cache.sqlite"
    # capture of every model call an agent makes, whatever client it uses ("on" | "off");
    # capture_bodies: keep each call's request and response in the run's calls.jsonl
    capture: str = "on"
    capture_bodies: bool = True
    # outputs
    run_dir: str = "reports/runs"
    # recorded production traffic (`passline traces import`), redacted, in SQLite
    traffic_dir: str = ".passline/traffic"
    # run records, caches, baselines and reports are private to the user (files 0600, folders
    # 0700) unless this is true (then 0666/0777 minus the umask)
    shared_permissions: bool = False
    # the built-in simulator, used when the model is sim-*
    sim_latency_ms: float = 0.0
    sim_jitter_ms: float = 0.0
    sim_faults: str = ""
    # where each value came from: field -> "default" | "pyproject.toml" | "env PASSLINE_X" | "cli"
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.cache not in CACHE_MODES:
            raise ConfigError(
                f"cache mode {self.cache!r} ({self.sources.get('cache', 'default')}) is not one of "
                f"{', '.join(CACHE_MODES)}"
            )
        if self.capture not in CAPTURE_MODES:
            raise ConfigError(
                f"capture {self.capture!r} ({self.sources.get('capture', 'default')}) is not one "
                f"of {', '.join(CAPTURE_MODES)}")
        if self.untrusted_judge not in UNTRUSTED_JUDGE_MODES:
            raise ConfigError(
                f"untrusted_judge {self.untrusted_judge!r} "
                f"({self.sources.get('untrusted_judge', 'default')}) is not one of "
                f"{', '.join(UNTRUSTED_JUDGE_MODES)}: \"inform\" shows an untrusted judge's "
                "scores without letting them fail cases or the gate, \"gate\" lets them"
            )
        for name in ("concurrency", "trials", "cases_per_item"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"{name} must be >= 1, got {getattr(self, name)} "
                    f"({self.sources.get(name, 'default')})"
                )
        for name in ("timeout_s", "connect_timeout_s", "run_timeout_s"):
            if not getattr(self, name) > 0:  # also refuses NaN
                raise ConfigError(
                    f"{name} must be a number of seconds > 0, got {getattr(self, name)} "
                    f"({self.sources.get(name, 'default')})")
        base = self.base_url.strip()
        if base and base.lower() not in BASE_URL_PRESETS and not base.lower().startswith(
                ("http://", "https://")):
            raise ConfigError(
                f"base_url {base!r} ({self.sources.get('base_url', 'default')}) is neither a URL "
                f"(http://HOST:PORT/v1) nor one of the presets {', '.join(BASE_URL_PRESETS)}")
        if self.sim_faults:
            from passline.sim.faults import FaultSpec

            FaultSpec.parse(self.sim_faults, where=f"sim_faults "
                            f"({self.sources.get('sim_faults', 'default')})")
        for name in ("max_retries", "fail_fast_after", "shutdown_grace_s", "sim_latency_ms",
                     "sim_jitter_ms", "backoff_base_s", "backoff_max_s"):
            if not getattr(self, name) >= 0:
                raise ConfigError(
                    f"{name} must be >= 0, got {getattr(self, name)} "
                    f"({self.sources.get(name, 'default')})")

    @property
    def is_sim(self) -> bool:
        return is_sim_model(self.model)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "sources"]

    @classmethod
    def resolve(
        cls,
        cli: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        root: str | Path | None = None,
    ) -> Settings:
        """Merge defaults, ``[tool.passline]`` found from ``root`` upwards, env and CLI."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {name: "default" for name in cls.field_names()}
        hints = get_type_hints(cls)

        pyproject = find_pyproject(Path(root) if root else Path.cwd())
        if pyproject is not None:
            table = load_tool_table(pyproject)
            for key, value in table.items():
                name = key.replace("-", "_")
                if name == "gate":  # [tool.passline.gate] belongs to the gate, not here
                    continue
                if name not in sources:
                    raise ConfigError(
                        f"{pyproject}: unknown key {key!r} in [tool.passline]; "
                        f"known keys: {', '.join(cls.field_names())}"
                    )
                values[name] = _check_type(name, hints[name], value,
                                           f"{pyproject}: [tool.passline] {key}")
                sources[name] = str(pyproject)
        for name in cls.field_names():
            var = f"PASSLINE_{name.upper()}"
            if var in env and env[var] != "":
                values[name] = _coerce(name, hints[name], env[var], f"environment {var}")
                sources[name] = f"env {var}"
        for name, value in (cli or {}).items():
            if value is None:
                continue
            if name not in sources:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _coerce(name, hints[name], value, "command line")
            sources[name] = "cli"
        return cls(**values, sources=sources)

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain data for manifests and ``passline config``: API keys are
        never settings, and credentials inside ``base_url`` are redacted (:func:`redact_url`)."""
        data = {name: _plain(getattr(self, name)) for name in self.field_names()}
        data["base_url"] = redact_url(self.base_url)
        return data


def redact_url(url: str) -> str:
    """A URL safe to store or show: userinfo and query values are replaced by ``***``.

    >>> redact_url("https://user:token@proxy.example/v1?api-key=s3cret")
    'https://***@proxy.example/v1?api-key=***'
    >>> redact_url("http://localhost:11434/v1")
    'http://localhost:11434/v1'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    path, qmark, query = f"{slash}{path}".partition("?")
    if qmark:
        query = "&".join(f"{part.partition('=')[0]}=***" if "=" in part else part
                         for part in query.split("&"))
    return f"{scheme}{sep}{authority}{path}{qmark}{query}"


def is_sim_model(model: str) -> bool:
    return model.startswith("sim-")


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_tool_table(pyproject: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: a BOM left by a Windows editor is tolerated, not a TOML error
        data = tomllib.loads(pyproject.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML ({exc}); fix the file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{pyproject}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                          "save it as UTF-8") from exc
    table = data.get("tool", {}).get("passline", {})
    return dict(table)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _type_name(hint: Any) -> str:
    if hint is bool:
        return "a boolean (true / false)"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    return "a table"


def _check_type(name: str, hint: Any, value: Any, where: str) -> Any:
    """A config-file value checked against the field's type; strings are coerced like
    environment values (``concurrency = "8"`` -> 8), ints widen to floats."""
    value = _coerce(name, hint, value, where)
    origin = typing.get_origin(hint) or hint
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
    elif isinstance(origin, type) and issubclass(origin, Mapping):
        ok = isinstance(value, Mapping)
    else:  # pragma: no cover - every Settings field has one of the types above
        ok = True
    if not ok:
        raise ConfigError(f"{where} = {value!r} ({type(value).__name__}) should be "
                          f"{_type_name(hint)}; fix the value in the file")
    return value


def _coerce(name: str, hint: Any, raw: Any, where: str) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    try:
        if hint in (int, "int"):
            return int(text)
        if hint in (float, "float"):
            return float(text)
        if hint in (bool, "bool"):
            if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError("expected true or false")
            return text.lower() in ("1", "true", "yes", "on")
        if "Mapping" in str(hint):
            return json.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: setting {name!r} cannot be {raw!r}: {exc}") from exc
    return text
