"""`load_history`: one way from a file to a checked `History` -- map columns, stream and type the rows, check the
whole table, derive what the file left out. Any problem raises `HistoryError` with all of them, located; nothing
is returned half-checked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from planner.history.columns import ColumnMap, read_column_map, resolve
from planner.history.derive import complete
from planner.history.frame import (
    REQUIRED,
    SOURCE_ROW,
    History,
    HistoryError,
    HistoryUnreadable,
    Problem,
    Problems,
)
from planner.history.parse import parse
from planner.history.read import batches, open_source
from planner.history.validate import check, check_against
from planner.rules.load import display_name
from planner.rules.schema import RuleSet


def load_history(path: Path, columns: Path | None = None, rules: RuleSet | None = None) -> History:
    """Read, check and complete a history file (CSV, CSV.gz, Parquet or Excel).

    `columns` is an optional column-map YAML (docs/history.md); with `rules`, accounts and products the rules do
    not define are problems too. Raises HistoryError listing every problem with its file, row and column."""
    path = Path(path)
    name = display_name(path)
    mapping = ColumnMap()
    if columns is not None:
        mapping, problems = read_column_map(Path(columns))
        if problems:
            raise HistoryUnreadable(problems)
    if not path.is_file():
        raise HistoryUnreadable([Problem(name, 1, "", "no such file", "check the path of the history file")])
    source = open_source(path, name, mapping.sheet)
    wanted, problems = resolve(source.header, mapping, name)
    if problems:
        raise HistoryError(problems)
    collected = Problems()
    parts = [parse(batch, source, wanted, collected) for batch in batches(source, wanted)]
    if not parts or not sum(len(part) for part in parts):
        collected.add(Problem(name, source.first_row, "", "the file has no rows",
                              "export at least one account x product x week"), "empty file")
        collected.raise_if_any()
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts  # the batches are in the frame now: free them before the checks copy anything
    canonical_to_header = dict(wanted)
    checked = frame if collected.empty else frame.loc[_whole(frame)].reset_index(drop=True)
    check(checked, name, lambda column, row: source.cell(canonical_to_header.get(column, ""), row), collected)
    collected.raise_if_any()
    frame, rule = complete(frame)
    history = History(frame, name, sha256_of(path), rule)
    if rules is not None:
        unknown = check_against(history, rules)
        if unknown:
            if source.kind == "excel":
                unknown = [_with_cell(p, source.cell(canonical_to_header[p.column], p.row)) for p in unknown]
            raise HistoryError(unknown)
    return history


def _whole(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose required cells all parsed (the others are reported already and would only add noise)."""
    whole = np.ones(len(frame), dtype=bool)
    for column in REQUIRED:
        whole &= frame[column].notna().to_numpy()
    return whole


def _with_cell(problem: Problem, cell: str) -> Problem:
    return Problem(problem.file, problem.row, problem.column, problem.message, problem.fix, cell)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["SOURCE_ROW", "History", "HistoryError", "check_against", "load_history"]
