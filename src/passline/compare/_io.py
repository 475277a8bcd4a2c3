"""The compare stage reads run records through :mod:`passline.records` (one reader for all)."""

from __future__ import annotations

from passline.records._read import (
    MANIFEST_NAME,
    RESULTS_NAMES,
    SUPPORTED_SCHEMA_VERSIONS,
    check_schema_version,
    iter_results,
    read_manifest,
    read_results,
    results_path,
)

__all__ = [
    "MANIFEST_NAME",
    "RESULTS_NAMES",
    "SUPPORTED_SCHEMA_VERSIONS",
    "check_schema_version",
    "iter_results",
    "read_manifest",
    "read_results",
    "results_path",
]
