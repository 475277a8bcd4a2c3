"""Reading run records (reports/runs/<run-id>/): the manifest and the streamed result rows.

The one reader every later stage uses (compare, report, the CLI). Rows are streamed line
by line, so a 10,000-case run with traces never sits in memory twice; ``read_results`` is the
convenience that collects them into a list.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from passline.errors import RecordError

logger = logging.getLogger(__name__)

SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
MANIFEST_NAME = "manifest.json"
RESULTS_NAMES = ("results.jsonl", "results.jsonl.gz", "results.jsonl.zst")


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """Load and check ``manifest.json`` of a run directory."""
    path = Path(run_dir) / MANIFEST_NAME
    if not path.is_file():
        raise RecordError(
            f"{Path(run_dir)}: no {MANIFEST_NAME} here; pass a run directory "
            "(reports/runs/<run-id>/) or a baseline file (reports/baselines/NAME.json)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: unreadable manifest ({exc}); re-run or restore it") from exc
    if not isinstance(manifest, dict):
        raise RecordError(f"{path}: manifest must be a JSON object, got {type(manifest).__name__}")
    check_schema_version(manifest.get("schema_version"), where=str(path))
    return manifest


def check_schema_version(version: object, *, where: str) -> None:
    """Refuse records written by a passline whose format this one does not know."""
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        known = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise RecordError(
            f"{where}: schema_version {version!r} is not supported (this passline reads "
            f"{known}); upgrade passline or re-run with this version"
        )


def results_path(run_dir: str | Path) -> Path:
    """The results file of a run (plain, gzip or zstd JSONL)."""
    for name in RESULTS_NAMES:
        candidate = Path(run_dir) / name
        if candidate.is_file():
            return candidate
    raise RecordError(
        f"{Path(run_dir)}: no results file ({' / '.join(RESULTS_NAMES)}); "
        "the run may have crashed before recording any case — re-run it"
    )


def _open_bytes(path: Path) -> IO[bytes]:
    # bytes, decoded line by line: a damaged file then names the line, instead of failing
    # with a bare UnicodeDecodeError somewhere in a buffer
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".zst":
        try:
            import zstandard
        except ImportError as exc:
            raise RecordError(
                f"{path}: reading .zst results needs the 'zstandard' package; "
                "install it (pip install zstandard)"
            ) from exc
        raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb"))
        return io.BufferedReader(raw)
    return path.open("rb")


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    lineno = 0
    try:
        with _open_bytes(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                yield lineno, raw
    except (OSError, EOFError, zlib.error) as exc:  # a cut or damaged gz/zst stream
        raise RecordError(f"{path}:{lineno + 1}: cannot read past this line ({exc}); the "
                          "file is damaged: restore it or re-run") from exc


def _shown(raw: bytes) -> str:
    return repr(raw[:80]) + ("..." if len(raw) > 80 else "")


def _fast_loads() -> Any:
    """orjson's parser (several times faster on 100,000-row records), else the json module's.
    It refuses a few things Python's json writes (NaN, integers past 64 bits): the caller
    falls back to ``json.loads`` for those rows, so every row reads as it always did."""
    try:
        import orjson
    except ImportError:  # an environment installed before passline required it
        return lambda raw: json.loads(raw.decode("utf-8"))
    return orjson.loads


def iter_results(run_dir: str | Path, *, on_lenient: Callable[[], None] | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Yield result rows one at a time.

    A cut last line without a newline (the process died mid-write) is skipped with a
    warning, as ``passline.records`` does; any other malformed line or unknown schema
    version raises RecordError naming file:line. ``on_lenient`` is called for each row only
    the json module reads (NaN, huge integers, lone surrogates): a reader that writes rows
    back out with orjson knows it must not for those.
    """
    path = results_path(run_dir)
    fast = _fast_loads()
    for lineno, raw in _lines(path):
        if not raw.strip():
            continue
        torn = not raw.endswith(b"\n")  # only the last line can lack one: a cut write
        try:
            try:
                row = fast(raw)
            except ValueError:  # NaN, huge ints, lone surrogates...: what json.loads reads
                row = json.loads(raw.decode("utf-8"))
                if on_lenient is not None:
                    on_lenient()
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if torn:
                logger.warning("%s:%d: skipping a cut last line (the run was interrupted "
                               "while writing it)", path, lineno)
                return
            what = (f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                    if isinstance(exc, UnicodeDecodeError) else f"not valid JSON ({exc.msg})")
            raise RecordError(
                f"{path}:{lineno}: {what}; the row starts {_shown(raw)}; fix or delete that "
                "line, or re-run") from exc
        if not isinstance(row, dict):
            raise RecordError(f"{path}:{lineno}: a result row must be a JSON object; the row "
                              f"starts {_shown(raw)}")
        check_schema_version(row.get("schema_version"), where=f"{path}:{lineno}")
        for key in ("eval", "case_id", "status"):
            if key not in row:
                raise RecordError(f"{path}:{lineno}: result row lacks {key!r}; the row "
                                  f"starts {_shown(raw)}")
        yield row


def read_results(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a run directory: ``(manifest, rows)``.

    >>> manifest, rows = read_results("reports/runs/2024-06-01T12-00-00-abc")  # doctest: +SKIP
    """
    manifest = read_manifest(run_dir)
    return manifest, list(iter_results(run_dir))
