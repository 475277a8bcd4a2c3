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


def chunked(n_cases: int) -> bool:
    """Whether a report of this many cases ships them in compressed chunks."""
    return n_cases > INLINE_MAX_CASES


def json_bytes(value: Any, *, fast: bool = True) -> bytes:
    """Compact JSON as UTF-8 bytes for a compressed block: orjson's (ten times faster than
    the json module on 100,000 cases), else -- for values orjson refuses (lone surrogates,
    huge integers, non-string keys) or, with ``fast=False``, for data that may hold NaN,
    which orjson would silently write as null -- :func:`json_text`'s. Either parses back
    to the same values."""
    if fast:
        import orjson

        try:
            return orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return json_text(value, ascii=True).encode("ascii")


def case_details(keys: Sequence[tuple[str, str]], detail: Any, *, fast: bool = True
                 ) -> dict[tuple[str, str], bytes]:
    """Each case's detail ``[in, x, baseline trials, candidate trials]`` as JSON bytes
    (``detail(key)`` gives it), ready to be joined into chunks in any case order -- so it
    can be done before the comparison has ordered the cases."""
    return {key: json_bytes(detail(key), fast=fast) for key in keys}


def case_blocks(cases: Sequence[dict[str, Any]], meta: Mapping[str, Any], *,
                details: dict[tuple[str, str], bytes] | None = None, fast: bool = True
                ) -> tuple[str, list[tuple[str, str]]]:
    """The ``#cases`` JSON text (escaped for a script element) and the compressed blocks
    ``[(element id, base64 text)]`` -- none for a report of at most INLINE_MAX_CASES.
    ``details``: each case's detail already serialised (:func:`case_details`; consumed:
    each is dropped once joined into its chunk, so they are not held twice); the cases then
    need not carry it. ``fast``: False when the data may hold NaN (see json_bytes)."""
    if not chunked(len(cases)):
        return cases_json(list(cases), meta), []
    index: list[dict[str, Any]] = []
    chunks: list[tuple[str, bytes]] = []
    for k in range(0, len(cases), CHUNK_CASES):
        parts: list[bytes] = []
        for case in cases[k:k + CHUNK_CASES]:
            head, detail = split_case(case)
            index.append(head)
            parts.append(details.pop((case["e"], case["id"])) if details is not None
                         else json_bytes(detail, fast=fast))
        chunks.append((f"chunk-{k // CHUNK_CASES}", b"[" + b",".join(parts) + b"]"))
    raw = [("cases-index", json_bytes(index, fast=fast)), *chunks]
    del index, chunks, parts
    # zlib releases the GIL: compress the chunks on every core
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        packed = list(pool.map(pack, (data for _, data in raw)))
    blocks = [(name, text) for (name, _), text in zip(raw, packed, strict=True)]
    packed_meta = {**meta, "chunks": {"n": len(blocks) - 1, "size": CHUNK_CASES}}
    return cases_json([], packed_meta), blocks


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
