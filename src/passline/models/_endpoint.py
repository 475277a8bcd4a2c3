"""Where a model lives: the simulator, OpenAI, or any OpenAI-compatible URL.

``base_url`` accepts a URL or a preset name:

==========  =====================================  =================================
preset      base URL                                API key
==========  =====================================  =================================
(empty)     simulator for ``sim-*`` models, else    env ``api_key_env`` (OPENAI_API_KEY)
            ``OPENAI_BASE_URL`` or OpenAI
sim         the built-in simulator (started here)   none needed
openai      https://api.openai.com/v1               required
ollama      http://127.0.0.1:11434/v1               optional
vllm        http://127.0.0.1:8000/v1                optional
litellm     http://127.0.0.1:4000/v1                optional
==========  =====================================  =================================
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from passline.errors import ConfigError
from passline.settings import Settings, is_sim_model

PRESETS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "litellm": "http://127.0.0.1:4000/v1",
}
KEYLESS_OK = frozenset({"ollama", "vllm", "litellm"})


# While a capture session routes clients that agents build themselves, it sets
# OPENAI_BASE_URL (and a placeholder key) in the environment; endpoints are still resolved
# from what the user had set. Each entry: variable -> the user's value (None: unset).
_USER_ENV: list[Mapping[str, str | None]] = []


def remember_user_environ(saved: Mapping[str, str | None]) -> None:
    """Register the user's values of variables a capture session is about to override."""
    _USER_ENV.append(saved)


def forget_user_environ(saved: Mapping[str, str | None]) -> None:
    if any(s is saved for s in _USER_ENV):
        _USER_ENV[:] = [s for s in _USER_ENV if s is not saved]


def _environ_copy() -> dict[str, str]:
    """``dict(os.environ)`` reads the keys, then each value: not atomic. pytest sets and
    removes PYTEST_CURRENT_TEST around every item in its own thread while agents run in
    others, so a copy can meet a key that just vanished (KeyError; seen about once in
    5,000 items under load). Copy again until one goes through."""
    for _ in range(100):
        try:
            return dict(os.environ)
        except KeyError:
            continue
    return dict(os.environ)


def user_environ() -> Mapping[str, str]:
    """``os.environ`` as the user set it, before any capture session's overrides."""
    if not _USER_ENV:
        return os.environ
    env = _environ_copy()
    for saved in reversed(_USER_ENV):
        for name, value in saved.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return env


@dataclasses.dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str = dataclasses.field(repr=False)  # never printed, logged or stored
    is_sim: bool = False

    def __repr__(self) -> str:
        return f"Endpoint({redact_credentials(self.base_url)!r}, sim={self.is_sim})"


def endpoint_identity(settings: Settings, model: str,
                      env: Mapping[str, str] | None = None) -> str:
    """Which server answers ``model``, without starting anything: part of the cache key, so
    one model name served by two endpoints never shares cached replies. No credentials."""
    env = user_environ() if env is None else env
    base = settings.base_url.strip()
    if base == "sim" or (not base and is_sim_model(model)):
        return "sim"
    url = PRESETS.get(base.lower()) or base or env.get("OPENAI_BASE_URL") or PRESETS["openai"]
    return redact_credentials(url.rstrip("/"))


def redact_credentials(url: str) -> str:
    """``http://user:secret@host/v1?api-key=x`` -> ``http://***@host/v1?api-key=***``."""
    from passline.settings import redact_url

    return redact_url(url)


def resolve_endpoint(settings: Settings, model: str,
                     env: Mapping[str, str] | None = None) -> Endpoint:
    """Pick the endpoint for ``model`` from settings and the environment."""
    env = user_environ() if env is None else env
    base = settings.base_url.strip()
    if base == "sim" or (not base and is_sim_model(model)):
        from passline.sim.app import SimConfig
        from passline.sim.server import shared_server

        server = shared_server(SimConfig(latency_ms=settings.sim_latency_ms,
                                         jitter_ms=settings.sim_jitter_ms,
                                         faults=settings.sim_faults))
        return Endpoint(server.base_url, "sim-no-key", is_sim=True)
    preset = base.lower()
    if preset in PRESETS:
        url = PRESETS[preset]
    elif base:
        url = base
    else:
        url = env.get("OPENAI_BASE_URL") or PRESETS["openai"]
    key = env.get(settings.api_key_env, "")
    if not key:
        if preset in KEYLESS_OK or (base and not url.startswith("https://api.openai.com")):
            key = "not-needed"
        else:
            raise ConfigError(
                f"model {model!r} needs an API key for {url}, but environment variable "
                f"{settings.api_key_env} is not set. Set it, point base_url at another endpoint "
                f"(--passline-base-url / PASSLINE_BASE_URL), or use a simulator model "
                f"(--passline-model sim-2) to run offline.")
    return Endpoint(url.rstrip("/"), key, is_sim=False)
