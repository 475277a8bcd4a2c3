"""Find golden-set text in other files: record ids and 4-word sequences of golden cases.

Used by the tests that keep the simulator honest: the simulator's source must not contain
text of any golden case (it would mean a rule was written against the test set), and the
simulator's generalisation suite must not reuse golden wording (it would not measure
generalisation). "Common" words are scikit-learn's general English stop-word list
(``ENGLISH_STOP_WORDS``, the Glasgow Information Retrieval Group's list): a 4-word sequence
made only of such words ("and it is the") says nothing about where a text came from, so it is
ignored; every other sequence counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

N = 4
#: Ids of records a golden case names ("ORD-10042", "POL-SLA-001"): as telling as its own id.
RECORD_ID_RE = re.compile(r"\b[A-Z]{2,5}(?:-[A-Z]{2,5})?-\d{2,}\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_RUN_RE = re.compile(r"[\w-]+")


def common_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def tokens(text: str) -> list[str]:
    """Lowercase words and numbers; any other character separates ("ORD-10042" -> ord,
    10042; ``total_usd`` -> total, usd), so code, comments and prose compare alike."""
    return _TOKEN_RE.findall(text.lower().replace("_", " "))


def ngrams(text: str, common: frozenset[str], n: int = N) -> set[tuple[str, ...]]:
    """The n-word sequences of ``text`` that are not made only of common words."""
    words = tokens(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)
            if not all(w in common for w in words[i:i + n])}


def strings(value: Any) -> Iterator[str]:
    """Every string leaf of a JSON value (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@dataclass(frozen=True)
class GoldenCase:
    dataset: str  # "<name>/<version>"
    line: int
    id: str
    text: str  # every string of the record: input, expected, tags, metadata


def golden_cases(golden_root: Path) -> list[GoldenCase]:
    """Every record of every dataset under ``golden_root`` (``<name>/<version>/*.jsonl``),
    present and future."""
    out = []
    for path in sorted(golden_root.glob("*/*/*.jsonl")):
        dataset = f"{path.parent.parent.name}/{path.parent.name}"
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            out.append(GoldenCase(dataset, line_no, str(record.get("id", "")),
                                  "\n".join(strings(record))))
    return out


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    what: str  # "record id" | "4-gram"
    text: str  # the id or the words
    source: str  # "<dataset>:<line> <case id>"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what} {self.text!r} (from {self.source})"


class GoldenIndex:
    """Record ids (each case's own id and the ids of the records it names) and 4-grams of the
    golden cases, with where each came from."""

    def __init__(self, cases: Iterable[GoldenCase]) -> None:
        self.common = common_words()
        self.ids: dict[str, str] = {}
        self.grams: dict[tuple[str, ...], str] = {}
        for case in cases:
            where = f"{case.dataset}:{case.line} {case.id}"
            for ident in [case.id, *RECORD_ID_RE.findall(case.text)]:
                if ident:
                    self.ids.setdefault(ident.lower(), where)
            for gram in ngrams(case.text, self.common):
                self.grams.setdefault(gram, where)
        # an id stands alone when nothing word-like or a hyphen touches it: for an id made of
        # such characters only (all of them so far) that is a whole run of them, looked up in
        # the dict; any other id goes through the (slow, many-alternative) pattern
        odd = sorted((i for i in self.ids if not _RUN_RE.fullmatch(i)), key=len, reverse=True)
        self._id_re = re.compile(
            "|".join(rf"(?<![\w-]){re.escape(i)}(?![\w-])" for i in odd)) if odd else None

    def find(self, text: str, file: str = "<text>") -> list[Finding]:
        """Golden record ids and golden 4-grams in ``text`` (one finding per line and item)."""
        found: list[Finding] = []
        lines = text.splitlines()
        for line_no, line in enumerate(lines, 1):
            low = line.lower()
            hits = [m for m in _RUN_RE.finditer(low) if m.group(0) in self.ids]
            if self._id_re is not None:
                hits = sorted([*hits, *self._id_re.finditer(low)], key=lambda m: m.start())
            for m in hits:
                found.append(Finding(file, line_no, "record id", m.group(0),
                                     self.ids[m.group(0)]))
        # sequences may run across line breaks (a docstring sentence wraps): scan the whole
        # text, then report the line each sequence starts on
        starts: list[int] = []
        words: list[str] = []
        for line_no, line in enumerate(lines, 1):
            for word in tokens(line):
                words.append(word)
                starts.append(line_no)
        seen: set[tuple[str, ...]] = set()
        for i in range(len(words) - N + 1):
            gram = tuple(words[i:i + N])
            if gram in self.grams and gram not in seen:
                seen.add(gram)
                found.append(Finding(file, starts[i], "4-gram", " ".join(gram),
                                     self.grams[gram]))
        return found

    def scan_tree(self, root: Path, label_root: Path | None = None) -> list[Finding]:
        """Findings in every text file under ``root`` (code, comments, docstrings, data)."""
        found: list[Finding] = []
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            label = str(path.relative_to(label_root or root.parent))
            found.extend(self.find(text, label))
        return found
