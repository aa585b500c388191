"""`planner plan checkout`: a version's frozen files, from the store, written back in their folder layout.

The files go below the target folder at the places they had relative to each other when the version was submitted
(`files.layout`), so the scenario finds its rules folder and plan file as it did; the folder to run from is the
submitter's working directory's place. The folder is written all-or-nothing (`planner.folders.write_folder`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from planner.folders import write_folder
from planner.store import files
from planner.store.errors import CannotOpen, Refused
from planner.store.versions import Version


def checkout(connection: Connection, version: Version, out: Path) -> tuple[str, int]:
    """Write `version`'s files to `out` (a new or empty folder); returns (the folder to run from, files written)."""
    if version.frozen.command_line is None:
        raise Refused(f"{version.label} was stored before the store kept each version's files: it cannot be "
                      "checked out (its file hashes are in planner plan show)")
    by_path = {path: sha for path, (_, sha) in version.frozen.rule_files.items()}
    contents, problems = files.get(connection, sorted(set(by_path.values())))
    if problems:
        raise Refused(f"{version.label}: " + "; ".join(f"frozen file {path} is {problems[sha]}"
                                                      for path, sha in sorted(by_path.items()) if sha in problems))
    places, run_from = files.layout(version.frozen.workdir, sorted(by_path))

    def write(folder: Path) -> list[str]:
        for path, place in places.items():
            target = folder / place
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents[by_path[path]])
        return sorted(places.values())

    try:
        written = write_folder(out, write, frozenset())
    except (OSError, FileExistsError) as error:
        raise CannotOpen(f"cannot write the files to {out}: {error}") from None
    return run_from, len(written)
