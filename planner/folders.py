"""Writing an output folder all-or-nothing: the one way every command puts files in place.

A command writes into a staging folder beside the target (same file system, so the final move is a rename) and
only then swaps it in; a failure leaves the target as it was. Only a folder holding nothing but the command's own
files (an earlier run's) may be replaced, so `--out .` can never wipe a project. This sits on the ground floor:
the report, the calibration and `planner init` all use it, and it imports nothing of the planner.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def unsafe_target(out: Path, allowed: frozenset[str]) -> str | None:
    """Why `out` must not be replaced, or None: it is a file, or it holds anything but `allowed` names."""
    if not out.exists():
        return None
    if not out.is_dir():
        return f"{out} is a file; --out names a results folder"
    others = sorted(item.name for item in out.iterdir() if item.name not in allowed)
    if others:
        return (f"{out} holds files that are not results ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                "choose a new folder or empty it")
    return None


def write_folder(out: Path, write: Callable[[Path], list[str]], allowed: frozenset[str]) -> list[str]:
    """Let `write` fill a staging folder, then put it in place of `out` (which may only hold `allowed` files).

    Returns what `write` returns (the file names written). The staging folder is removed if anything fails.
    """
    problem = unsafe_target(out, allowed)
    if problem:
        raise FileExistsError(problem)
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        written = write(staging)
        move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def move_into_place(staging: Path, out: Path) -> None:
    """Swap a staged folder in for `out` by renames; if the second rename fails the previous `out` is put back,
    otherwise it is deleted."""
    if not out.exists():
        staging.rename(out)
        return
    previous = out.with_name(f".{out.name}.previous-{uuid.uuid4().hex[:8]}")
    out.rename(previous)
    try:
        staging.rename(out)
    except BaseException:
        previous.rename(out)
        raise
    shutil.rmtree(previous, ignore_errors=True)
