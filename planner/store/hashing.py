"""Content hashes: canonical JSON, file digests and the audit chain link. Pure functions, no database.

Canonical JSON is what every hash in the store is taken over: keys sorted, no whitespace, UTF-8, floats written by
Python's shortest round-trip repr, NaN and infinity refused (they are not JSON, and a hash over them could not be
re-computed from what a database gives back). The same object therefore hashes the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
"""The 'previous hash' of the first audit row."""
CHUNK = 1 << 16


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, compact separators, no NaN/inf (a ValueError names the problem)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of `value`."""
    return sha256_text(canonical_json(value))


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (the exact bytes: a changed comment or line ending is a change)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def chain_hash(previous: str, row: dict[str, Any]) -> str:
    """The audit link: sha256(previous row's hash + canonical JSON of this row's content)."""
    return sha256_text(previous + canonical_json(row))
