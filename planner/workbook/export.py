"""Write a plan as an Excel workbook: the calendar grid planners edit, and the sheets they read beside it.

Sheets, in order: Calendar (rows account x product group, columns fiscal weeks grouped by quarter and month, a
promoted week holds `mechanic saving`, coloured by mechanic kind, locked weeks bold on grey with a comment, a
drop-down of the mechanics allowed on the row), Events (each event's volume, spend and ROI), Budgets (used,
limit, headroom), Policy (every policy check with its headroom), Read me (how to edit and bring it back), and
the hidden sheets the import reads (planner.workbook.layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from planner.compile.index import PlanIndex
from planner.results import PolicyCheck, Simulation
from planner.rules.schema import Calendar, Event, Mechanic, RuleSet
from planner.rules.vividness import Bought
from planner.workbook.events import event_values
from planner.workbook.layout import (
    BUDGETS,
    CALENDAR,
    EVENTS,
    FIRST_LINE_ROW,
    FIRST_WEEK_COLUMN,
    HEADER_ROW,
    KIND_COLOURS,
    LINE_COLUMNS,
    LINES,
    LOCKED_COLOUR,
    MECHANICS,
    MONTH_ROW,
    PLAN,
    PLAN_EVENT_COLUMNS,
    PLAN_EVENTS_ROW,
    POLICY,
    QUARTER_ROW,
    README,
    CellValue,
)

BOLD = Font(bold=True)
LOCKED_BORDER = Border(*(Side(style="medium", color="000000"),) * 4)
MONEY = "#,##0"
RATIO = "0.0%"


@dataclass(frozen=True)
class PlanSource:
    """What the workbook's plan was made from, kept so the import writes it back unchanged."""

    scenario: str
    source: str
    vividness: Bought | None = None
    """The plan's vividness purchases; None when the plan lists none (the rules' own are bought)."""


def cell_value(event: Event, mechanic: Mechanic) -> CellValue:
    """What the event's weeks show: its mechanic, the saving it gives, its own funding share if it has one."""
    return CellValue(event.mechanic, event.depth if event.depth is not None else mechanic.effective_depth,
                     event.funding)


def plan_lines(rules: RuleSet, events: Sequence[Event]) -> list[tuple[str, str]]:
    """Every account x product group the account sells (promoted or not), and any line an event names, in rule
    order."""
    index = PlanIndex.of(rules)
    carried = {(b.account, product) for b in rules.baselines for product, cases in b.cases_per_week.items() if cases}
    named = {(event.account, event.product_group) for event in events}
    lines = []
    for account in index.accounts:
        for group in rules.product_groups:
            products = np.flatnonzero(index.product_mask(group.products))
            sells = any((account.id, index.products[p].id) in carried for p in products)
            if sells or (account.id, group.id) in named:
                lines.append((account.id, group.id))
    return lines


def allowed_mechanics(rules: RuleSet, index: PlanIndex, account: str, group: str) -> list[Mechanic]:
    """Mechanics whose scope holds the account and some product of the group (their dates are checked per week by
    `planner validate`)."""
    products = index.product_mask(rules.ids("product_groups")[group].products)
    position = index.account_position[account]
    return [m for m in rules.mechanics
            if index.account_mask(m.applies_to)[position] and (index.product_mask(m.applies_to) & products).any()]


def _header(sheet: Worksheet, row: int, titles: Sequence[str]) -> None:
    for column, title in enumerate(titles, start=1):
        sheet.cell(row, column, title).font = BOLD
    sheet.freeze_panes = sheet.cell(row + 1, 1)


def _calendar(book: Workbook, rules: RuleSet, events: Sequence[Event],
              lines: list[tuple[str, str]]) -> list[list[str]]:
    """The grid; returns the drop-down entries of each row, which the hidden _lines sheet holds."""
    sheet = book.active
    assert sheet is not None
    sheet.title = CALENDAR
    index = PlanIndex.of(rules)
    calendar = index.calendar
    accounts, groups, mechanics = rules.ids("accounts"), rules.ids("product_groups"), rules.ids("mechanics")
    for column, title in enumerate(LINE_COLUMNS, start=1):
        sheet.cell(HEADER_ROW, column, title).font = BOLD
    _week_headers(sheet, calendar)
    row_of, lists = {}, []
    for offset, (account, group) in enumerate(lines):
        row = FIRST_LINE_ROW + offset
        row_of[(account, group)] = row
        for column, value in enumerate((account, accounts[account].name or account, group,
                                        groups[group].name or group), start=1):
            sheet.cell(row, column, value)
        allowed = allowed_mechanics(rules, index, account, group)
        entries = [CellValue(m.id, m.effective_depth).text() for m in allowed]
        lists.append([account, group, *entries])
        last = get_column_letter(FIRST_WEEK_COLUMN + calendar.weeks - 1)
        validation = DataValidation(
            type="list", formula1=f"{LINES}!$C${offset + 1}:${get_column_letter(max(3, 2 + len(entries)))}"
                                  f"${offset + 1}",
            allow_blank=True, showErrorMessage=True, errorStyle="warning", errorTitle="Not a usual entry here",
            error="Not one of the mechanics allowed on this row at its usual saving. Keep it only for a negotiated "
                  "saving (e.g. tpr-20 25%); the import checks it.",
            promptTitle="Mechanic and saving", prompt="Pick a mechanic; clear the cell for no promotion.")
        validation.add(f"{get_column_letter(FIRST_WEEK_COLUMN)}{row}:{last}{row}")
        sheet.add_data_validation(validation)
    for event in events:
        row = row_of[(event.account, event.product_group)]
        mechanic = mechanics[event.mechanic]
        text = cell_value(event, mechanic).text()
        for week in event.weeks:
            cell = sheet.cell(row, FIRST_WEEK_COLUMN + week - 1, text)
            cell.fill = PatternFill("solid", fgColor=LOCKED_COLOUR if event.locked else KIND_COLOURS[mechanic.kind])
            if event.locked:
                cell.font = Font(bold=True, color="FFFFFF")
                cell.border = LOCKED_BORDER
                cell.comment = Comment(f"Locked event {event.id}: agreed in the contract, keep it as it is.",
                                       "planner")
    sheet.freeze_panes = sheet.cell(FIRST_LINE_ROW, FIRST_WEEK_COLUMN)
    for letter, width in zip("ABCD", (12, 28, 16, 24)):
        sheet.column_dimensions[letter].width = width
    for week in range(calendar.weeks):
        sheet.column_dimensions[get_column_letter(FIRST_WEEK_COLUMN + week)].width = 14
    return lists


def _week_headers(sheet: Worksheet, calendar: Calendar) -> None:
    """Week labels with their start date, months and quarters above them as merged cells."""
    months: list[tuple[str, int, int]] = []
    quarters: list[tuple[str, int, int]] = []
    for week in range(1, calendar.weeks + 1):
        start = calendar.week_start(week)
        column = FIRST_WEEK_COLUMN + week - 1
        header = sheet.cell(HEADER_ROW, column, f"W{week} {start:%m-%d}")
        header.font = BOLD
        header.alignment = Alignment(horizontal="center")
        for spans, label in ((months, f"{start:%Y-%m}"), (quarters, f"Q{calendar.quarter_of(week)}")):
            if spans and spans[-1][0] == label:
                spans[-1] = (label, spans[-1][1], column)
            else:
                spans.append((label, column, column))
    for row, spans in ((QUARTER_ROW, quarters), (MONTH_ROW, months)):
        for label, first, last in spans:
            cell = sheet.cell(row, first, label)
            cell.font = BOLD
            cell.alignment = Alignment(horizontal="center")
            if last > first:
                sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _events_sheet(book: Workbook, rules: RuleSet, events: Sequence[Event], currency: str) -> None:
    sheet = book.create_sheet(EVENTS)
    accounts, mechanics = rules.ids("accounts"), rules.ids("mechanics")
    _header(sheet, 1, ("Event", "Account", "Account name", "Product group", "Mechanic", "Mechanic name", "Weeks",
                       "Saving", "Funding", "Locked", "Volume (cases)", "Incremental volume (cases)",
                       f"Promotion spend ({currency})", f"Incremental gross profit ({currency})", "ROI"))
    for row, (event, value) in enumerate(zip(events, event_values(rules, events)), start=2):
        mechanic = mechanics[event.mechanic]
        cells = (event.id, event.account, accounts[event.account].name or event.account, event.product_group,
                 event.mechanic, mechanic.name or mechanic.id, ", ".join(str(w) for w in event.weeks),
                 cell_value(event, mechanic).depth or 0.0,
                 event.funding if event.funding is not None else mechanic.funding, "yes" if event.locked else "",
                 round(value.volume), round(value.incremental_volume), round(value.spend),
                 round(value.incremental_profit), round(value.roi, 2))
        for column, item in enumerate(cells, start=1):
            cell = sheet.cell(row, column, item)
            if column in (8, 9):
                cell.number_format = RATIO
            elif 11 <= column <= 14:
                cell.number_format = MONEY


def _headroom(check: PolicyCheck) -> float:
    """How far the plan is inside the limit (negative: outside), in the limit's unit."""
    below = check.kind in ("budget_max", "trade_spend_cap")
    return check.limit - check.actual if below else check.actual - check.limit


def _policy_sheets(book: Workbook, policy: Sequence[PolicyCheck], currency: str) -> None:
    budgets = book.create_sheet(BUDGETS)
    _header(budgets, 1, ("Budget", "Kind", "Scope", f"Used ({currency})", f"Limit ({currency})",
                         f"Headroom ({currency})", "Within"))
    rows = [check for check in policy if check.kind.startswith("budget")]
    for row, check in enumerate(rows, start=2):
        for column, item in enumerate((check.rule, check.kind, check.scope, round(check.actual, 2),
                                       round(check.limit, 2), round(_headroom(check), 2),
                                       "yes" if check.ok else "NO"), start=1):
            budgets.cell(row, column, item).number_format = MONEY if 4 <= column <= 6 else "General"
    sheet = book.create_sheet(POLICY)
    _header(sheet, 1, ("Rule", "Kind", "Scope", "Actual", "Limit", "Headroom", "Holds", "Detail"))
    others = [check for check in policy if not check.kind.startswith("budget")]
    for row, check in enumerate(others, start=2):
        ratio = check.kind in ("margin_floor", "trade_spend_cap")
        for column, item in enumerate((check.rule, check.kind, check.scope, check.actual, check.limit,
                                       _headroom(check), "yes" if check.ok else "NO", check.detail), start=1):
            cell = sheet.cell(row, column, round(item, 4) if isinstance(item, float) else item)
            if 4 <= column <= 6:
                cell.number_format = RATIO if ratio else MONEY


def _hidden(book: Workbook, rules: RuleSet, events: Sequence[Event], source: PlanSource,
            lists: list[list[str]]) -> None:
    lines = book.create_sheet(LINES)
    lines.sheet_state = "hidden"
    for entries in lists:
        lines.append(entries)
    plan = book.create_sheet(PLAN)
    plan.sheet_state = "hidden"
    for row, (key, value) in enumerate((("scenario", source.scenario), ("source", source.source),
                                        ("vividness", "listed" if source.vividness is not None else "absent"),
                                        ("weeks", rules.calendar.weeks if rules.calendar else 0)),
                                       start=1):
        plan.cell(row, 1, key)
        plan.cell(row, 2, value)
    for column, title in enumerate(PLAN_EVENT_COLUMNS, start=1):
        plan.cell(PLAN_EVENTS_ROW, column, title)
    for row, event in enumerate(events, start=PLAN_EVENTS_ROW + 1):
        values = (event.id, event.account, event.product_group, event.mechanic,
                  ",".join(str(w) for w in event.weeks), "yes" if event.locked else "",
                  "" if event.depth is None else repr(event.depth),
                  "" if event.funding is None else repr(event.funding))
        for column, value in enumerate(values, start=1):
            plan.cell(row, column, value)
    mechanics = book.create_sheet(MECHANICS)
    mechanics.sheet_state = "hidden"
    for row, mechanic in enumerate(rules.mechanics, start=1):
        for column, value in enumerate((mechanic.id, mechanic.name, mechanic.kind, repr(mechanic.effective_depth)),
                                       start=1):
            mechanics.cell(row, column, value)
    for row, (item, accounts) in enumerate((source.vividness or {}).items(), start=1):
        mechanics.cell(row, 6, item)
        mechanics.cell(row, 7, ",".join(accounts))


def _readme(book: Workbook, rules: RuleSet, source: PlanSource) -> None:
    sheet = book.create_sheet(README)
    lines = [
        f"Plan of scenario {source.scenario} (made by: {source.source})",
        "",
        "Edit the Calendar sheet: one row per account x product group, one column per fiscal week.",
        ("A promoted week holds the mechanic and the shopper's saving, e.g. 'tpr-20 20%'; add 'funding 80%' for "
         "a negotiated funding share."),
        "Pick from the drop-down (the mechanics allowed on that row), type a negotiated saving, or clear the cell.",
        "Adjacent weeks with the same entry become one event. Bold weeks on grey are locked: agreed in the contract.",
        "The Events, Budgets and Policy sheets are read-only figures of the plan as exported.",
        "",
        "Bring it back:  planner plan import plan.xlsx --out plan.yaml",
        "then:           planner validate ... && planner simulate SCENARIO --plan plan.yaml",
        "",
        "Colours by mechanic kind:",
    ]
    for row, text in enumerate(lines, start=1):
        sheet.cell(row, 1, text)
    sheet.cell(1, 1).font = BOLD
    kinds = sorted({mechanic.kind for mechanic in rules.mechanics})
    for row, kind in enumerate([*kinds, "locked"], start=len(lines) + 1):
        cell = sheet.cell(row, 1, kind)
        cell.fill = PatternFill("solid", fgColor=LOCKED_COLOUR if kind == "locked" else KIND_COLOURS[kind])
    sheet.column_dimensions["A"].width = 110


def write_workbook(path: Path, rules: RuleSet, events: Sequence[Event], simulation: Simulation,
                   source: PlanSource) -> None:
    """Write the plan workbook to `path` (the caller makes it all-or-nothing)."""
    book = Workbook()
    lists = _calendar(book, rules, events, plan_lines(rules, events))
    _events_sheet(book, rules, events, simulation.currency)
    _policy_sheets(book, simulation.policy, simulation.currency)
    _readme(book, rules, source)
    _hidden(book, rules, events, source, lists)
    book.save(path)
