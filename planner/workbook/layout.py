"""Where things are in the plan workbook, and how one calendar cell is written and read.

The Calendar sheet is the one planners edit: one row per account x product group, one column per fiscal week
(grouped by quarter and month in the two header rows above). A promoted week holds its mechanic and the
shopper's saving, `tpr-20 20%`; a negotiated funding share adds `funding 80%`; an empty cell is no promotion.
The hidden sheets keep what the import needs to give back exactly the plan that was exported (event ids, the
lines, the mechanics and the vividness purchases), so a round trip with no edit is the identical plan file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CALENDAR = "Calendar"
EVENTS = "Events"
BUDGETS = "Budgets"
POLICY = "Policy"
README = "Read me"
LINES = "_lines"
"""Hidden: one row per calendar row (account, product group, then the mechanic entries allowed there)."""
PLAN = "_plan"
"""Hidden: scenario, source, whether vividness is listed, the weeks, then the exported events as the plan file
has them."""
MECHANICS = "_mechanics"
"""Hidden: id, name, kind and effective depth of every mechanic, and the vividness purchases."""

QUARTER_ROW, MONTH_ROW, HEADER_ROW = 1, 2, 3
FIRST_LINE_ROW = 4
LINE_COLUMNS = ("Account", "Account name", "Product group", "Product group name")
FIRST_WEEK_COLUMN = len(LINE_COLUMNS) + 1
PLAN_EVENT_COLUMNS = ("id", "account", "product_group", "mechanic", "weeks", "locked", "depth", "funding")
PLAN_EVENTS_ROW = 6
"""Header row of the event table on the _plan sheet (rows 1-4 hold scenario, source, vividness, weeks)."""

KIND_COLOURS = {"price_cut": "F8CBAD", "bogo": "FF9999", "multi_buy": "FFD966", "spend_save": "C6E0B4",
                "coupon": "BDD7EE", "feature": "D9D2E9", "display": "B4C7E7", "tasting": "E2EFDA"}
"""Fill colour of a promoted week by mechanic kind (the legend is on the Read me sheet)."""
LOCKED_COLOUR = "7F7F7F"


def percent(value: float) -> str:
    """0.2 -> '20%', 0.2537 -> '25.37%': as many decimals as the plan file keeps (4 of a percent), no more."""
    text = f"{value * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def read_percent(text: str) -> float | None:
    """'25%' or '25.5%' -> 0.25 / 0.255; anything else None."""
    if not text.endswith("%"):
        return None
    try:
        number = Decimal(text[:-1])
    except InvalidOperation:
        return None
    return float(number / 100) if number.is_finite() else None


@dataclass(frozen=True)
class CellValue:
    """What one promoted week holds: the mechanic, the shopper's saving shown, a funding share if negotiated."""

    mechanic: str
    depth: float | None
    """The saving written in the cell (None: not written, the mechanic's own)."""
    funding: float | None = None

    def text(self) -> str:
        parts = [self.mechanic]
        if self.depth:
            parts.append(percent(self.depth))
        if self.funding is not None:
            parts += ["funding", percent(self.funding)]
        return " ".join(parts)


def parse_cell(text: str) -> tuple[CellValue | None, str]:
    """A calendar cell's text -> its value, or None and what is wrong with it."""
    tokens = text.split()
    mechanic, rest = tokens[0], tokens[1:]
    depth = funding = None
    if rest and rest[0] != "funding":
        depth = read_percent(rest[0])
        if depth is None or not 0 <= depth < 1:
            return None, f"'{rest[0]}' is not a saving: write it as a percentage below 100%, e.g. 25%"
        rest = rest[1:]
    if rest and rest[0] == "funding":
        funding = read_percent(rest[1]) if len(rest) > 1 else None
        if funding is None or not 0 <= funding <= 1:
            return None, "'funding' must be followed by a share from 0% to 100%, e.g. funding 80%"
        rest = rest[2:]
    if rest:
        return None, f"unexpected '{' '.join(rest)}'"
    return CellValue(mechanic, depth, funding), ""

