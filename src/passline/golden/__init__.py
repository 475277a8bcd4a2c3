"""Golden stage: versioned datasets of cases, validated, content-pinned and loaded as Cases.

Layout: ``golden/<name>/<version>/{data.jsonl, card.md}`` plus ``golden/golden.lock``
pinning each version's content hash, so a dataset never changes under the same version.

>>> from passline.golden import load_cases, validate
>>> cases = load_cases("tools-unit@v2")
>>> problems = validate()          # every dataset under ./golden
"""

from __future__ import annotations

from passline.golden._layout import DatasetRef, dataset_fingerprint, parse_ref, read_lock
from passline.golden._load import LockResult, load_arrow, load_cases, lock, read_rows, validate
from passline.golden._schema import ID_RE, Problem, check_row
from passline.golden._versions import (
    CaseChange,
    DatasetDiff,
    DatasetInfo,
    card_template,
    diff,
    list_datasets,
    new_version,
)

__all__ = [
    "ID_RE",
    "CaseChange",
    "DatasetDiff",
    "DatasetInfo",
    "DatasetRef",
    "LockResult",
    "Problem",
    "card_template",
    "check_row",
    "dataset_fingerprint",
    "diff",
    "list_datasets",
    "load_arrow",
    "load_cases",
    "lock",
    "new_version",
    "parse_ref",
    "read_lock",
    "read_rows",
    "validate",
]
