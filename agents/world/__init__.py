"""The deterministic world of Larkspur Supply Co.: its SQLite database and policy corpus.

``World.fresh(workdir)`` gives each agent run a private copy of a template database that
is built from a fixed seed on first use; ``load_policies()`` returns the policy documents.
"""

from __future__ import annotations

from agents.world._build import INJECTED_TICKETS, generate
from agents.world._policies import AREAS, INJECTED_DOCS, PolicyDoc, get_policy, load_policies
from agents.world._schema import SCHEMA_VERSION, SEED, TODAY
from agents.world._world import World, build, template_path

__all__ = [
    "AREAS",
    "INJECTED_DOCS",
    "INJECTED_TICKETS",
    "SCHEMA_VERSION",
    "SEED",
    "TODAY",
    "PolicyDoc",
    "World",
    "build",
    "generate",
    "get_policy",
    "load_policies",
    "template_path",
]
