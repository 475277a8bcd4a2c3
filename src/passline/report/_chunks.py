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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from passline.report._payload import cases_json, json_bytes

INLINE_MAX_CASES = 2000  # up to this many cases, one plain JSON block (no unpacking)
CHUNK_CASES = 100  # cases per compressed detail chunk (500 made expanding a case 1.3x slower)
COMPRESS_LEVEL = 3  # 100k cases: 19.7 MB and 0.6 s of zlib (level 6: 16.0 MB, 1.8 s)


def pack(data: bytes) -> str:
    """gzip + base64 (deterministic: no timestamp in the gzip header)."""
    return base64.b64encode(gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0)
                            ).decode("ascii")


def chunked(n_cases: int) -> bool:
    """Whether a report of this many cases ships them in compressed chunks."""
    return n_cases > INLINE_MAX_CASES


def case_blocks(cases: Sequence[dict[str, Any]], meta: Mapping[str, Any], *,
                detail: Callable[[tuple[str, str]], bytes] | None = None, fast: bool = True
                ) -> tuple[str, list[tuple[str, str]]]:
    """The ``#cases`` JSON text (escaped for a script element) and the compressed blocks
    ``[(element id, base64 text)]`` -- none for a report of at most INLINE_MAX_CASES,
    whose ``cases`` carry their details. For a larger one, ``cases`` are the index entries
    (:func:`build_cases` without details) and ``detail(key)`` gives a case's detail as JSON
    bytes (:func:`case_detail`). ``fast``: False when the index may hold what only the json
    module writes (see json_bytes)."""
    if not chunked(len(cases)):
        return cases_json(list(cases), meta), []
    assert detail is not None, "a chunked report needs its cases' details"
    # zlib releases the GIL: blocks are compressed on every core while this thread joins
    # the next chunks (a few ahead at most, so the raw JSON is never all held at once)
    workers = os.cpu_count() or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        packed = [pool.submit(pack, json_bytes(list(cases), fast=fast))]  # the largest first
        for k in range(0, len(cases), CHUNK_CASES):
            data = b"[" + b",".join(detail((case["e"], case["id"]))
                                    for case in cases[k:k + CHUNK_CASES]) + b"]"
            packed.append(pool.submit(pack, data))
            if len(packed) > 4 * workers:
                packed[-4 * workers - 1].result()
        texts = [future.result() for future in packed]
    names = ["cases-index"] + [f"chunk-{k}" for k in range(len(texts) - 1)]
    packed_meta = {**meta, "chunks": {"n": len(texts) - 1, "size": CHUNK_CASES}}
    return cases_json([], packed_meta), list(zip(names, texts, strict=True))


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
