"""The frozen files of each version, kept in the store: content-addressed (by sha256) and zlib-compressed.

A submission stores the exact bytes of every file it was built from (the scenario and the scenarios it extends,
every rule file, the plan file), once per distinct content across all versions. So approving, rejecting, reporting
and diffing need only the store — no checkout of the rules repository — and `planner plan checkout` writes a
version's files back in their folder layout, from which `planner simulate` reproduces the frozen totals exactly.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from sqlalchemy import Connection, select

from planner.store.schema import plan_files

LEVEL = 9


def put(connection: Connection, sources: Mapping[str, bytes]) -> None:
    """Store each file's bytes under its sha256, unless the store already holds that content."""
    by_hash = {hashlib.sha256(data).hexdigest(): data for data in sources.values()}
    if not by_hash:
        return
    known = set(connection.scalars(select(plan_files.c.sha256).where(plan_files.c.sha256.in_(list(by_hash)))))
    rows = [{"sha256": sha, "size": len(data), "content": zlib.compress(data, LEVEL)}
            for sha, data in sorted(by_hash.items()) if sha not in known]
    if rows:
        connection.execute(plan_files.insert(), rows)


def get(connection: Connection, hashes: list[str]) -> tuple[dict[str, bytes], dict[str, str]]:
    """(sha256 -> bytes, sha256 -> problem): a file missing from the store, or whose bytes no longer hash to it."""
    found: dict[str, bytes] = {}
    problems: dict[str, str] = {}
    rows = {sha: (size, content) for sha, size, content in connection.execute(
        select(plan_files.c.sha256, plan_files.c.size, plan_files.c.content)
        .where(plan_files.c.sha256.in_(hashes)))} if hashes else {}
    for sha in hashes:
        if sha not in rows:
            problems[sha] = "missing from the store (deleted)"
            continue
        try:
            data = zlib.decompress(bytes(rows[sha][1]))
        except zlib.error:
            problems[sha] = "cannot be decompressed: it was edited"
            continue
        if hashlib.sha256(data).hexdigest() != sha or len(data) != rows[sha][0]:
            problems[sha] = "no longer hashes to its sha256: it was edited"
            continue
        found[sha] = data
    return found, problems


def layout(workdir: str, paths: list[str]) -> tuple[dict[str, str], str]:
    """Where each file goes below a checkout folder, keeping the files' relative places, and the sub-folder to run
    from (the submitter's working directory). Paths were recorded relative to that directory when below it."""
    absolute = {path: os.path.normpath(os.path.join(workdir, path)) for path in paths}
    root = os.path.commonpath([workdir, *absolute.values()]) if absolute else workdir
    places = {path: str(PurePosixPath(*Path(os.path.relpath(place, root)).parts)) for path, place in absolute.items()}
    return places, os.path.relpath(workdir, root)
