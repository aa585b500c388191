"""Read a planner's edited workbook back as plan-file events, every problem located as Sheet!Cell.

The Calendar grid is what counts: each promoted week is read as `mechanic [saving] [funding F%]`. An exported
event whose weeks still all hold what it showed is kept as it was (its id, weeks and terms), so a workbook
brought back unedited gives the identical plan. What is left becomes new events: adjacent weeks of one row with
the same entry form one event, named after its row and first week. A locked event must keep every week as it
was. Nothing is returned unless the whole workbook reads cleanly.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from planner.compile.calendar import runs
from planner.rules.scenario import did_you_mean
from planner.rules.schema import Event
from planner.rules.vividness import Bought
from planner.workbook.layout import (
    CALENDAR,
    FIRST_LINE_ROW,
    FIRST_WEEK_COLUMN,
    LINES,
    MECHANICS,
    PLAN,
    PLAN_EVENT_COLUMNS,
    PLAN_EVENTS_ROW,
    CellValue,
    parse_cell,
)

SAME = 5.1e-7
"""Savings and funding shares closer than this are the same: a cell shows 4 decimals of a percent (1e-6), as the
plan file keeps them, so what it shows is within half of that of the value."""


class UnreadableWorkbook(Exception):
    """The file is not a workbook the import can open at all (exit 2: cannot run)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the workbook: where (Sheet!Cell), what, and how to fix it."""

    where: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} (fix: {self.fix})"


@dataclass(frozen=True)
class ImportedPlan:
    """What a plan file needs: the scenario it was made for, who made it, events and vividness purchases."""

    scenario: str
    source: str
    events: list[Event]
    vividness: Bought | None
    changed: bool
    """Did the planner change anything on the calendar?"""


@dataclass(frozen=True)
class _Exported:
    """The workbook's memory of what it was exported from (the hidden sheets)."""

    scenario: str
    source: str
    vividness: Bought | None
    weeks: int
    events: list[dict[str, Any]]
    mechanics: dict[str, float]
    """Mechanic id -> its own effective saving."""
    lines: list[tuple[str, str, set[str]]]
    """Account, product group, mechanics allowed, per calendar row."""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _exported(book: Any) -> _Exported:
    plan, mechanics, lines = book[PLAN], book[MECHANICS], book[LINES]
    meta = {_text(plan.cell(row, 1).value): _text(plan.cell(row, 2).value) for row in range(1, PLAN_EVENTS_ROW)}
    events = []
    for row in plan.iter_rows(min_row=PLAN_EVENTS_ROW + 1, values_only=True):
        item = dict(zip(PLAN_EVENT_COLUMNS, (_text(value) for value in row)))
        if item.get("id"):
            events.append(item)
    depths, bought = {}, {}
    for row in mechanics.iter_rows(values_only=True):
        if _text(row[0]):
            depths[_text(row[0])] = float(_text(row[3]))
        if len(row) > 6 and _text(row[5]):
            bought[_text(row[5])] = tuple(a for a in _text(row[6]).split(",") if a)
    allowed = [(_text(row[0]), _text(row[1]), {_text(entry).split()[0] for entry in row[2:] if _text(entry)})
               for row in lines.iter_rows(values_only=True) if _text(row[0])]
    return _Exported(meta.get("scenario", ""), meta.get("source", "planner"),
                     bought if meta.get("vividness") == "listed" else None, int(meta.get("weeks") or 0), events,
                     depths, allowed)


def _where(row: int, column: int) -> str:
    return f"{CALENDAR}!{get_column_letter(column)}{row}"


def _read_grid(sheet: Worksheet, exported: _Exported, problems: list[Problem]) -> dict[tuple[str, str], dict[int, CellValue]]:
    """Line -> week -> what the planner left there; problems appended, located."""
    grid: dict[tuple[str, str], dict[int, CellValue]] = {}
    for offset, (account, group, allowed) in enumerate(exported.lines):
        row = FIRST_LINE_ROW + offset
        for column, expected, what in ((1, account, "account"), (3, group, "product group")):
            found = _text(sheet.cell(row, column).value)
            if found != expected:
                problems.append(Problem(_where(row, column), f"the row's {what} reads '{found}', exported as "
                                        f"'{expected}'", f"put back '{expected}': rows are fixed; a new line "
                                        "starts in the rules (baselines) and a fresh export"))
        cells: dict[int, CellValue] = {}
        for week in range(1, exported.weeks + 1):
            column = FIRST_WEEK_COLUMN + week - 1
            raw = sheet.cell(row, column).value
            if raw is None or _text(raw) == "":
                continue
            where = _where(row, column)
            if not isinstance(raw, str):
                problems.append(Problem(where, f"week {week} holds {raw!r}, not a mechanic",
                                        "write a mechanic and its saving, e.g. 'tpr-20 20%', or clear the cell"))
                continue
            value, wrong = parse_cell(raw)
            if value is None:
                problems.append(Problem(where, f"'{raw.strip()}': {wrong}", "write e.g. 'tpr-20 20%' or "
                                        "'tpr-20 25% funding 80%', or pick from the drop-down"))
                continue
            if value.mechanic not in exported.mechanics:
                problems.append(Problem(where, f"'{value.mechanic}' is not a mechanic of the rules"
                                        f"{did_you_mean(value.mechanic, sorted(exported.mechanics))}",
                                        "pick one from the cell's drop-down list"))
                continue
            if value.mechanic not in allowed:
                problems.append(Problem(where, f"'{value.mechanic}' may not run at {account} on {group} (outside "
                                        "the mechanic's scope)", "use one of: " + ", ".join(sorted(allowed))))
                continue
            cells[week] = value
        grid[(account, group)] = cells
    last = FIRST_LINE_ROW + len(exported.lines)
    for row in sheet.iter_rows(min_row=last, min_col=FIRST_WEEK_COLUMN):
        for cell in row:
            if _text(cell.value):
                problems.append(Problem(f"{CALENDAR}!{cell.coordinate}", "a promotion below the plan's rows is not "
                                        "on any account x product group", "move it onto its line's row"))
    return grid


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < SAME)


def _shown(event: dict[str, Any], mechanics: dict[str, float]) -> CellValue:
    depth = float(event["depth"]) if event["depth"] else mechanics[event["mechanic"]]
    return CellValue(event["mechanic"], depth, float(event["funding"]) if event["funding"] else None)


def _matches(cell: CellValue | None, shown: CellValue, mechanics: dict[str, float]) -> bool:
    if cell is None or cell.mechanic != shown.mechanic:
        return False
    depth = cell.depth if cell.depth is not None else mechanics[cell.mechanic]
    return _same(depth, shown.depth) and _same(cell.funding, shown.funding)


def _event(fields: dict[str, Any], where: str, problems: list[Problem]) -> Event | None:
    try:
        return Event.model_validate(fields)
    except ValidationError as error:
        problems.append(Problem(where, f"event {fields.get('id')}: {error.errors()[0]['msg']}",
                                "correct the cell, or export the plan again"))
        return None


def read_workbook(path: Path) -> tuple[ImportedPlan | None, list[Problem]]:
    """The plan an edited workbook holds, or None and every problem found (located Sheet!Cell)."""
    try:
        book = load_workbook(path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise UnreadableWorkbook(f"{path} is not an Excel workbook the import can read ({error}); export one with "
                                 "planner plan export") from error
    missing = [name for name in (CALENDAR, PLAN, MECHANICS, LINES) if name not in book.sheetnames]
    if missing:
        return None, [Problem(f"{name}!A1", f"sheet '{name}' is missing", "bring back a workbook written by planner "
                              "plan export (the hidden sheets must stay)") for name in missing]
    exported = _exported(book)
    problems: list[Problem] = []
    sheet = book[CALENDAR]
    grid = _read_grid(sheet, exported, problems)
    row_of = {(account, group): FIRST_LINE_ROW + offset for offset, (account, group, _) in enumerate(exported.lines)}
    kept: list[Event] = []
    dropped = False
    for item in exported.events:
        line = (item["account"], item["product_group"])
        weeks = [int(week) for week in item["weeks"].split(",")]
        shown = _shown(item, exported.mechanics)
        cells = grid.get(line, {})
        changed = [week for week in weeks if not _matches(cells.get(week), shown, exported.mechanics)]
        if changed:
            dropped = True
            if item["locked"]:
                where = _where(row_of[line], FIRST_WEEK_COLUMN + changed[0] - 1)
                found = cells[changed[0]].text() if changed[0] in cells else "empty"
                problems.append(Problem(where, f"week {changed[0]} of locked event {item['id']} is {found!r}, "
                                        f"exported as {shown.text()!r}: locked events are agreed in the contract",
                                        f"put back '{shown.text()}' (or unlock the event in the rules)"))
            continue
        for week in weeks:
            del cells[week]
        fields = {key: item[key] for key in ("id", "account", "product_group", "mechanic")}
        fields |= {"weeks": weeks, "locked": item["locked"] == "yes"}
        fields |= {key: float(item[key]) for key in ("depth", "funding") if item[key]}
        event = _event(fields, _where(row_of[line], FIRST_WEEK_COLUMN + weeks[0] - 1), problems)
        if event is not None:
            kept.append(event)
    added = _new_events(grid, row_of, exported, {event["id"] for event in exported.events}, problems)
    if problems:
        return None, problems
    edited = dropped or bool(added)
    return ImportedPlan(exported.scenario, "planner" if edited else exported.source, kept + added,
                        exported.vividness, edited), []


def _new_events(grid: dict[tuple[str, str], dict[int, CellValue]], row_of: dict[tuple[str, str], int],
                exported: _Exported, used: set[str], problems: list[Problem]) -> list[Event]:
    """Weeks no exported event accounts for: adjacent weeks with the same entry become one event."""
    out = []
    for line, cells in grid.items():
        account, group = line
        for first, last in _runs_of_same(cells):
            value = cells[first]
            base = f"{account}-{group}-w{first}"
            name, suffix = base, 2
            while name in used:
                name, suffix = f"{base}-{suffix}", suffix + 1
            used.add(name)
            fields: dict[str, Any] = {"id": name, "account": account, "product_group": group,
                                      "mechanic": value.mechanic, "weeks": list(range(first, last + 1))}
            if value.depth is not None and not _same(value.depth, exported.mechanics[value.mechanic]):
                fields["depth"] = value.depth
            if value.funding is not None:
                fields["funding"] = value.funding
            event = _event(fields, _where(row_of[line], FIRST_WEEK_COLUMN + first - 1), problems)
            if event is not None:
                out.append(event)
    return out


def _runs_of_same(cells: dict[int, CellValue]) -> list[tuple[int, int]]:
    """Runs of consecutive weeks holding the same entry."""
    out: list[tuple[int, int]] = []
    for first, last in runs(cells):
        start = first
        for week in range(first + 1, last + 1):
            if cells[week] != cells[week - 1]:
                out.append((start, week - 1))
                start = week
        out.append((start, last))
    return out

