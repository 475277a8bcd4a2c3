"""The prompts a variant actually sent, de-duplicated: what the report's prompt diff reads.

Every captured request adds its system prompts, tool specs and sampling settings; each is
stored once (keyed by a hash of its rendered text) with a count of the calls that used it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from passline.capture._calls import ToolSpec, sampling, system_prompts, text_hash, tool_specs

LEDGER_SCHEMA_VERSION = 1


class PromptLedger:
    """Distinct system prompts, tools and settings of one variant's requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.system: dict[str, dict[str, Any]] = {}
        self.tools: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, dict[str, Any]] = {}
        self._specs: dict[str, list[tuple[ToolSpec, str]]] = {}

    def __repr__(self) -> str:
        return (f"PromptLedger(system={len(self.system)}, tools={len(self.tools)}, "
                f"settings={len(self.settings)})")

    def add(self, request: Mapping[str, Any]) -> dict[str, list[str]]:
        """Record one request; returns its references ``{"system": [hash], "tools":
        ["name#hash"]}`` so a case can later be tied to the prompts it used."""
        systems = [(text_hash(t), t) for t in system_prompts(request)]
        tools = request.get("tools")
        if tools:
            # the same tool list arrives with most calls: hash its specs once
            raw = json.dumps(tools, default=str)
            specs = self._specs.get(raw)
            if specs is None:
                specs = self._specs[raw] = [(s, s.hash) for s in tool_specs(request)]
        else:
            specs = []
        settings = sampling(request)
        settings_key = json.dumps(settings, default=str)  # fields come in a fixed order
        with self._lock:
            for h, text in systems:
                entry = self.system.setdefault(h, {"hash": h, "text": text, "calls": 0})
                entry["calls"] += 1
            for spec, digest in specs:
                key = f"{spec.name}#{digest}"
                tool = self.tools.get(key)
                if tool is None:
                    tool = self.tools[key] = {**spec.to_dict(), "calls": 0}
                tool["calls"] += 1
            entry = self.settings.setdefault(settings_key, {"settings": settings, "calls": 0})
            entry["calls"] += 1
        return {"system": [h for h, _ in systems],
                "tools": [f"{s.name}#{digest}" for s, digest in specs]}

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"schema_version": LEDGER_SCHEMA_VERSION,
                    "system": sorted(self.system.values(), key=lambda e: -e["calls"]),
                    "tools": sorted(self.tools.values(), key=lambda e: (e["name"], -e["calls"])),
                    "settings": sorted(self.settings.values(), key=lambda e: -e["calls"])}

    @staticmethod
    def merge(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Join ledgers (xdist workers, shards) into one, summing call counts."""
        system: dict[str, dict[str, Any]] = {}
        tools: dict[str, dict[str, Any]] = {}
        settings: dict[str, dict[str, Any]] = {}
        for part in parts:
            for e in part.get("system") or ():
                system.setdefault(e["hash"], {**e, "calls": 0})["calls"] += int(e["calls"])
            for e in part.get("tools") or ():
                key = f"{e['name']}#{e['hash']}"
                tools.setdefault(key, {**e, "calls": 0})["calls"] += int(e["calls"])
            for e in part.get("settings") or ():
                key = json.dumps(e["settings"], sort_keys=True, default=str)
                settings.setdefault(key, {**e, "calls": 0})["calls"] += int(e["calls"])
        return {"schema_version": LEDGER_SCHEMA_VERSION,
                "system": sorted(system.values(), key=lambda e: -e["calls"]),
                "tools": sorted(tools.values(), key=lambda e: (e["name"], -e["calls"])),
                "settings": sorted(settings.values(), key=lambda e: -e["calls"])}
