"""Per-case data of a large report: an index for the case list, and each case's detail in
compressed chunks that the page unpacks only when it needs them.

Up to ``INLINE_MAX_CASES`` cases the page ships them as one JSON block, as it always did.
Beyond that, 100,000 cases of answers, tool calls, scores and traces would be hundreds of MB
of JSON to download and parse before the first page shows. So the page carries:

* ``#cases``: the usual JSON block with ``meta`` (plus ``meta.chunks``) and no cases;
* ``#cases-index``: every case without its detail (what the list, filters and counts read);
* ``#chunk-K``: the detail of cases ``K*size .. (K+1)*size-1`` (input, expected, trials).

Each of the last two is gzip-compressed JSON, base64-encoded, in a ``<script
type="application/octet-stream">`` element: never executed (the strict CSP is untouched),
and base64 has no character that could close the element or start markup. The page decodes
a block with ``atob`` and the browser's ``DecompressionStream`` (no ``eval``, no fetch) and
renders its values with ``textContent`` as before. It stays one file: Chromium refuses
``fetch`` of neighbouring ``file://`` files, so a folder of chunk files would not open
offline.
"""

from __future__ import annotations

import base64
import concurrent.futures
import gzip
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from passline.report._payload import cases_json, json_text

INLINE_MAX_CASES = 2000  # up to this many cases, one plain JSON block (no unpacking)
CHUNK_CASES = 100  # cases per compressed detail chunk (500 made expanding a case 1.3x slower)
COMPRESS_LEVEL = 6
DETAIL_KEYS = ("in", "x")  # moved out of a case into its chunk, with each side's "tr"


def split_case(case: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """(index entry, detail) of one case: the detail is ``[in, x, baseline trials,
    candidate trials]`` and the index entry is the case without them."""
    head = {k: v for k, v in case.items() if k not in DETAIL_KEYS}
    trials: list[Any] = []
    for side in ("b", "c"):
        summary = case.get(side)
        if summary is None:
            trials.append(None)
            continue
        head[side] = {k: v for k, v in summary.items() if k != "tr"}
        trials.append(summary.get("tr"))
    return head, [case.get("in"), case.get("x"), *trials]


def pack(data: bytes) -> str:
    """gzip + base64 (deterministic: no timestamp in the gzip header)."""
    return base64.b64encode(gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0)
                            ).decode("ascii")


def case_blocks(cases: Sequence[dict[str, Any]], meta: Mapping[str, Any]
                ) -> tuple[str, list[tuple[str, str]]]:
    """The ``#cases`` JSON text (escaped for a script element) and the compressed blocks
    ``[(element id, base64 text)]`` -- none for a report of at most INLINE_MAX_CASES."""
    if len(cases) <= INLINE_MAX_CASES:
        return cases_json(list(cases), meta), []
    index: list[dict[str, Any]] = []
    details: list[list[Any]] = []
    for case in cases:
        head, detail = split_case(case)
        index.append(head)
        details.append(detail)
    raw = [("cases-index", json_text(index, ascii=True).encode("ascii"))]
    raw += [(f"chunk-{k // CHUNK_CASES}",
             json_text(details[k:k + CHUNK_CASES], ascii=True).encode("ascii"))
            for k in range(0, len(details), CHUNK_CASES)]
    del index, details
    # zlib releases the GIL: compress the chunks on every core
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        packed = list(pool.map(pack, (data for _, data in raw)))
    blocks = [(name, text) for (name, _), text in zip(raw, packed, strict=True)]
    chunked = {**meta, "chunks": {"n": len(blocks) - 1, "size": CHUNK_CASES}}
    return cases_json([], chunked), blocks


_JSON_BLOCK = re.compile(r'<script type="application/json" id="cases">(.*?)</script>', re.S)
_BLOCK = re.compile(r'<script type="application/octet-stream" id="([a-z0-9-]+)">([^<]*)</script>')


def read_cases(html: str) -> list[dict[str, Any]]:
    """Every case of a written ``index.html``, whole (for tools that read the page, and
    tests): the inline block, or the index and chunks put back together as the page's
    script does."""
    found = _JSON_BLOCK.search(html)
    if found is None:
        raise ValueError("no #cases block: not a passline report page")
    doc = json.loads(found.group(1))
    chunks = (doc.get("meta") or {}).get("chunks")
    if not chunks:
        return list(doc["cases"])
    blocks = {name: json.loads(gzip.decompress(base64.b64decode(text)))
              for name, text in _BLOCK.findall(html)}
    cases: list[dict[str, Any]] = blocks["cases-index"]
    for k in range(int(chunks["n"])):
        for j, (text, expected, btr, ctr) in enumerate(blocks[f"chunk-{k}"]):
            case = cases[k * int(chunks["size"]) + j]
            case["in"], case["x"] = text, expected
            for side, trials in (("b", btr), ("c", ctr)):
                if case[side] is not None:
                    case[side]["tr"] = trials
    return cases
