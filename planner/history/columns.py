"""The column map: a small YAML file that names, for each canonical column, the column of a user's export.

    # columns.yaml -- an ERP export read as a history without editing it
    columns:
      week: WEEK_END_DATE
      account: STORE_NUM
      cases: UNITS
    sheet: Sales          # Excel only: the sheet to read (the first one when absent)

A canonical column the map does not name is looked up by its own name in the file (exactly, then ignoring
case, spaces and '-'); columns of the file nobody asks for are ignored. The map is read with the rule loader's
safe YAML reader, so its mistakes are located and get a did-you-mean like a rule file's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from planner.history.frame import BY_NAME, COLUMNS, Problem
from planner.rules.load import display_name
from planner.rules.source import load_yaml


@dataclass(frozen=True)
class ColumnMap:
    """Canonical column name -> the name of that column in the user's file, and the Excel sheet to read."""

    columns: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    file: str = ""


def read_column_map(path: Path) -> tuple[ColumnMap, list[Problem]]:
    """Read a column-map YAML file; problems are located at the map's line and key."""
    name = display_name(path)
    document, findings = load_yaml(path, name)
    problems = [Problem(f.location.file, f.location.line, f.location.path, f.message, f.fix) for f in findings]
    if document is None:
        return ColumnMap(file=name), problems
    data = document.data
    if not isinstance(data, dict):
        where = document.at(())
        problems.append(Problem(name, where.line, "", "a column map is a mapping with a 'columns:' section",
                                "write 'columns:' and under it lines like 'cases: UNITS'"))
        return ColumnMap(file=name), problems
    for key in data:
        if key not in ("columns", "sheet"):
            problems.append(_unknown(name, document.at((key,), key=True).line, str(key), ["columns", "sheet"]))
    columns: dict[str, str] = {}
    raw = data.get("columns") or {}
    if not isinstance(raw, dict):
        problems.append(Problem(name, document.at(("columns",)).line, "columns",
                                "'columns' must map canonical names to your column names",
                                "write lines like 'cases: UNITS' under 'columns:'"))
        raw = {}
    for canonical, source in raw.items():
        line = document.at(("columns", canonical), key=True).line
        if canonical not in BY_NAME:
            problems.append(_unknown(name, line, str(canonical), [c.name for c in COLUMNS]))
        elif not isinstance(source, (str, int)) or isinstance(source, bool) or str(source) == "":
            problems.append(Problem(name, line, str(canonical), f"'{canonical}' must name a column of your file",
                                    f"write '{canonical}: <the column's header>'"))
        else:
            columns[str(canonical)] = str(source)
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, (str, int)):
        problems.append(Problem(name, document.at(("sheet",)).line, "sheet", "'sheet' must be a sheet name",
                                "write 'sheet: <name of the sheet>'"))
        sheet = None
    return ColumnMap(columns, None if sheet is None else str(sheet), name), problems


def _unknown(file: str, line: int, key: str, names: list[str]) -> Problem:
    near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return Problem(file, line, key, f"unknown key '{key}'{hint}",
                   f"rename it to '{near[0]}'" if near else f"use one of: {', '.join(names)}")


def _loose(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def resolve(header: list[str], mapping: ColumnMap, file: str) -> tuple[dict[str, str], list[Problem]]:
    """Which header column holds each canonical column present: {canonical: header name}.

    A required column that cannot be found, or a mapped column missing from the file, is a problem located at
    the header row (row 1) with a did-you-mean against the file's header."""
    loose: dict[str, list[str]] = {}
    for name in header:
        loose.setdefault(_loose(name), []).append(name)
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for column in COLUMNS:
        wanted = mapping.columns.get(column.name, column.name)
        if wanted in header:
            found[column.name] = wanted
            continue
        candidates = loose.get(_loose(wanted), [])
        if len(candidates) == 1:
            found[column.name] = candidates[0]
            continue
        if column.name not in mapping.columns and not column.required:
            continue
        near = difflib.get_close_matches(wanted, header, n=1, cutoff=0.6)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        if column.name in mapping.columns:
            message = f"the column map {mapping.file} names '{wanted}' for '{column.name}', but the file has no " \
                      f"such column{hint}"
            fix = f"write '{column.name}: {near[0] if near else '<a column of the file>'}' in {mapping.file}"
        else:
            message = f"missing required column '{column.name}' ({column.doc}){hint}"
            fix = (f"rename '{near[0]}' to '{column.name}', or map it: 'columns: {{{column.name}: {near[0]}}}' "
                   f"in a column map (--columns MAP.yaml)" if near else
                   f"add a '{column.name}' column, or name yours in a column map (--columns MAP.yaml)")
        problems.append(Problem(file, 1, wanted, message, fix))
    return found, problems
