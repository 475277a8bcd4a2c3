"""Policy worker tools: BM25 search over the policy corpus (bm25s) and reading one document."""

from __future__ import annotations

import re
import threading
from typing import Any

from agents.tools._registry import ToolInputError, tool
from agents.tools._text import tokens
from agents.world import PolicyDoc, World, get_policy, load_policies

SNIPPET_CHARS = 320
DOC_ID = {"type": "string", "pattern": r"^POL-[A-Z]{3}-\d{3}$", "examples": ["POL-REF-001"]}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class PolicyIndex:
    """A BM25 index over the policy documents (title weighted twice, then the body)."""

    def __init__(self, docs: list[PolicyDoc]) -> None:
        import bm25s  # heavy (numpy/scipy); imported only when policy search is used

        self.docs = docs
        self.retriever = bm25s.BM25()
        corpus = [tokens(f"{d.title} {d.title} {d.area} {_body(d)}") for d in docs]
        self.retriever.index(corpus, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[PolicyDoc, float]]:
        query_tokens = tokens(query)
        if not query_tokens:
            return []
        ids, scores = self.retriever.retrieve([query_tokens], k=min(k, len(self.docs)),
                                              show_progress=False)
        return [(self.docs[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                if s > 0]


_index: PolicyIndex | None = None
_index_lock = threading.Lock()


def policy_index() -> PolicyIndex:
    """The process-wide index, built once on first use."""
    global _index
    with _index_lock:
        if _index is None:
            _index = PolicyIndex(load_policies())
        return _index


def _body(doc: PolicyDoc) -> str:
    lines = doc.text.splitlines()[1:]
    return "\n".join(line for line in lines if not line.startswith("Owner:")).strip()


def _units(body: str) -> list[str]:
    """Unwrap hard-wrapped Markdown into paragraphs and list items, one string each."""
    units: list[str] = []
    for line in body.splitlines():
        text = line.strip()
        if not text:
            units.append("")
        elif text.startswith("- ") or not units or not units[-1]:
            units.append(text.removeprefix("- "))
        else:
            units[-1] += " " + text
    return [u for u in units if u]


def snippet(doc: PolicyDoc, query: str, limit: int = SNIPPET_CHARS) -> str:
    """The two consecutive sentences of ``doc`` that share most terms with ``query``."""
    wanted = set(tokens(query))
    sentences = [s for unit in _units(_body(doc)) for s in _SENTENCE.split(unit) if s]
    best, best_score = 0, -1
    for i in range(len(sentences)):
        window = " ".join(sentences[i:i + 2])
        score = len(wanted & set(tokens(window)))
        if score > best_score:
            best, best_score = i, score
    text = " ".join(sentences[best:best + 2])
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@tool("search_policies", worker="policy", parameters={
    "properties": {
        "query": {"type": "string", "minLength": 1, "maxLength": 500,
                  "examples": ["refund approval threshold"]},
        "k": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["query"],
})
def search_policies(world: World, query: str, k: int = 3) -> dict[str, Any]:
    """The ``k`` policy documents most relevant to ``query`` (BM25), with a snippet each."""
    if not tokens(query):
        raise ToolInputError("query has no searchable words; describe the topic, "
                             "like 'return window for unopened items'")
    hits = policy_index().search(query, k)
    return {"query": query, "results": [
        {"doc_id": doc.id, "title": doc.title, "snippet": snippet(doc, query),
         "score": round(score, 3)} for doc, score in hits]}


@tool("read_policy", worker="policy", parameters={
    "properties": {"doc_id": DOC_ID},
    "required": ["doc_id"],
})
def read_policy(world: World, doc_id: str) -> dict[str, Any]:
    """The full text of one policy document."""
    doc = get_policy(doc_id)
    if doc is None:
        raise ToolInputError(f"no policy {doc_id}; find policy ids with search_policies")
    return {"doc_id": doc.id, "title": doc.title, "area": doc.area, "text": doc.text}
