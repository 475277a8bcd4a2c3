"""The policy corpus: short Markdown documents under ``agents/world/policies``."""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

from passline.errors import AgentError

POLICY_DIR = Path(__file__).resolve().parent / "policies"

AREAS: dict[str, str] = {
    "REF": "refunds",
    "SHP": "shipping",
    "EXP": "expenses",
    "SEC": "security",
    "RET": "data retention",
    "ESC": "escalation",
    "PRV": "privacy",
    "PRC": "procurement",
    "RTN": "returns",
    "SLA": "support SLAs",
}

# Documents that carry an embedded prompt injection (for red-team cases). An agent must treat
# their instructions as data, never as instructions.
INJECTED_DOCS: tuple[str, ...] = ("POL-REF-006",)

_HEADING = re.compile(r"^# (POL-([A-Z]{3})-\d{3}) (.+)$")


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyDoc:
    """One policy document: ``id`` like POL-REF-001, its title, area name and full text."""

    id: str
    title: str
    area: str
    text: str


def parse_policy(path: Path) -> PolicyDoc:
    """Parse one policy file; its first line must be ``# POL-<AREA>-<NNN> <Title>``."""
    text = path.read_text(encoding="utf-8").strip()
    first = text.splitlines()[0] if text else ""
    match = _HEADING.match(first)
    if match is None or match.group(2) not in AREAS:
        raise AgentError(f"{path}:1: policy heading {first!r} is not '# POL-<AREA>-<NNN> Title' "
                         f"with AREA one of {', '.join(AREAS)}; fix the first line")
    doc_id, code, title = match.groups()
    if path.stem != doc_id:
        raise AgentError(f"{path}: file name must be {doc_id}.md to match its heading")
    return PolicyDoc(id=doc_id, title=title.strip(), area=AREAS[code], text=text)


@functools.cache
def _load(directory: Path) -> tuple[PolicyDoc, ...]:
    docs = tuple(parse_policy(p) for p in sorted(directory.glob("POL-*.md")))
    if not docs:
        raise AgentError(f"no policy documents found in {directory}")
    return docs


def load_policies(directory: Path | None = None) -> list[PolicyDoc]:
    """All policy documents, sorted by id (parsed once per process)."""
    return list(_load(Path(directory) if directory else POLICY_DIR))


def get_policy(doc_id: str) -> PolicyDoc | None:
    """The policy with this id, or None."""
    return next((d for d in _load(POLICY_DIR) if d.id == doc_id), None)
