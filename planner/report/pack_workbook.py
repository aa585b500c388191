"""The approval pack as an Excel workbook: the same sections as the HTML page, one sheet each ("What you are
approving" first), with the status of every policy check filled green or red and the charts embedded as images on
the summary sheet.

Sheets are built from `planner.report.files.View`s (number formats by kind, frozen header, filter), so the pack
reads like the simulation workbook.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from planner.report.files import View, add_sheet
from planner.report.pack import RATIO_KINDS, Pack
from planner.report.simulation import kind_of
from planner.store.diff import describe_policy, describe_terms

WORKBOOK = "approval-pack.xlsx"
GREEN, RED = "C8E6C9", "FFCDD2"
STATUS = {True: "holds", False: "FAILS", None: ""}


def _status_kind(ratio: bool) -> str:
    return "percent" if ratio else "money"


def summary_view(pack: Pack) -> View:
    """The headline tiles, then the version's identity; each row's value and limit in the row's own unit."""
    version = pack.version
    rows: list[tuple[Any, ...]] = [(tile.title, tile.value, tile.limit, STATUS[tile.ok], tile.note)
                                   for tile in pack.tiles]
    units = [tile.kind for tile in pack.tiles]
    rows.append(("Plan version", version.label, None, version.status,
                 f"submitted by {version.submitted_by or '-'} at {version.submitted_at or '-'}"))
    rows.append(("Approvals", len(version.approvals()), pack.approvals_needed, "", "approvals given / needed"))
    rows.append(("Content sha256", version.content_sha256, None, "", f"generated {pack.generated_at}"))
    units += ["text", "count", "text"]
    kinds = {(number, column): unit for number, unit in enumerate(units) for column in (1, 2)}
    return View("summary", "summary", ("headline", "value", "limit", "status", "note"),
                ("text", "money", "money", "text", "text"), rows, kinds)


def policy_view(pack: Pack) -> View:
    rows = [(STATUS[check["ok"]], check["rule"], check["what"], check["scope"],
             None if check["kind"] == "calendar" else check["actual"],
             None if check["kind"] == "calendar" else check["limit"], check["headroom"], check.get("detail", ""))
            for check in pack.policy]
    kinds = {(number, column): _status_kind(check["ratio"])
             for number, check in enumerate(pack.policy) for column in (4, 5, 6)}
    return View("policy", "policy checks", ("status", "rule", "check", "scope", "actual", "limit", "headroom",
                                             "detail"),
                ("text", "text", "text", "text", "money", "money", "money", "text"), rows, kinds)


ACCOUNT_COLUMNS = ("volume", "gross_sales", "trade_spend", "trade_spend_pct", "budget_used", "gross_profit",
                   "gross_margin", "promo_roi", "growth", "growth_target", "target_probability")


def accounts_view(pack: Pack) -> View:
    rows = [(row["id"], row["name"], row["channel"], row["tier"], *(row[key] for key in ACCOUNT_COLUMNS))
            for row in pack.accounts]
    kinds = tuple(kind_of(key) if key in ("volume", "gross_sales", "trade_spend", "trade_spend_pct",
                                          "budget_used", "gross_profit", "gross_margin", "promo_roi")
                  else "percent" if key != "target_probability" else "probability" for key in ACCOUNT_COLUMNS)
    return View("accounts", "spend and ROI", ("account", "name", "channel", "tier", *ACCOUNT_COLUMNS),
                ("text", "text", "text", "text", *kinds), rows)


def waterfall_view(pack: Pack) -> View:
    rows = [(row["step"] if row["kind"] == "total" else f"- {row['step']}", row["amount"], row["per_case"],
             row["share_of_gross"]) for row in pack.waterfall]
    return View("waterfall", "gross to dead net", ("step", pack.currency or "amount", "per case", "% of gross"),
                ("text", "money", "per_case", "percent"), rows)


def risk_view(pack: Pack) -> View:
    rows: list[tuple[Any, ...]] = [("total", row["kpi"], row["p10"], row["p50"], row["p90"]) for row in pack.risk]
    for account, details in pack.version.frozen.details.items():
        for kpi, spread in ((details or {}).get("uncertainty") or {}).items():
            rows.append((account, kpi, spread["p10"], spread["p50"], spread["p90"]))
    kinds = {(number, column): kind_of(row[1]) for number, row in enumerate(rows) for column in (2, 3, 4)}
    return View("risk", "risk P10-P90", ("scope", "kpi", "P10", "P50", "P90"),
                ("text", "text", "money", "money", "money"), rows, kinds)


def _named(term: dict[str, Any]) -> str:
    """'Full-pallet sparkling deal: ' before a discount or rebate that has a name of its own."""
    return f"{term['name']}: " if term["name"] != term["id"] else ""


def plans_view(pack: Pack) -> View:
    rows: list[tuple[Any, ...]] = []
    for item in pack.plans:
        plan = item["plan"]
        if not plan:
            rows.append((item["id"], "summary", "", "not frozen with this version", None))
            continue
        account = item["id"]
        rows += [(account, "discount", discount["id"], _named(discount)
                  + f"{discount['amount']}, {discount['when']}, {discount['stacking']}", None)
                 for discount in plan.get("discounts", [])]
        rows += [(account, "rebate", rebate["id"], _named(rebate) + f"{rebate['how']}; tiers "
                  + " · ".join(rebate["tiers"]), None) for rebate in plan.get("rebates", [])]
        rows.append((account, "strategy", "", plan["strategy"]["text"], None))
        rows += [(account, "event", event["id"], f"{event['when']}: {event['mechanic']} on {event['product_group']}"
                  + (f" ({event['theme']})" if event["theme"] else "") + (", locked" if event["locked"] else ""),
                  event["saving"]) for event in plan["events"]]
        rows += [(account, "shelf", shelf["target"], f"{shelf['share']:.0%} of the {shelf['category']} shelf",
                  shelf["fee"]) for shelf in plan["shelf"]]
        rows += [(account, "display", display["display"], f"{display['area_m2']} m2, {display['when']}",
                  display["fee"]) for display in plan["displays"]]
        rows += [(account, "cooler", cooler["cooler"], f"{cooler['units']} units", cooler["cost"])
                 for cooler in plan["coolers"]]
        growth = plan["targets"]["growth"]
        rows.append((account, "growth target", "", "volume growth vs last year", growth))
    kinds = {(number, 4): "percent" if row[1] in ("event", "growth target") else "money"
             for number, row in enumerate(rows)}
    return View("plans", "account plans", ("account", "term", "id", "detail", "saving / cost / target"),
                ("text", "text", "text", "text", "money"), rows, kinds)


def changes_view(pack: Pack) -> View:
    difference = pack.difference
    rows: list[tuple[Any, ...]] = []
    ratios: set[int] = set()
    if difference is None:
        rows.append(("-", "-", "no earlier version to compare with", None, None, None))
    else:
        rows += [("totals", "total", key, c["before"], c["after"], c["delta"])
                 for key, c in difference["totals"].items()]
        for account in difference["accounts"]:
            if "only_in" in account:
                rows.append(("accounts", account["id"], f"only in the {account['only_in']} version", None, None, None))
                continue
            rows += [("accounts", account["id"], key, c["before"], c["after"], c["delta"])
                     for key, c in account["changes"].items()]
        rows += [("terms", entry["id"], sentence, None, None, None)
                 for entry in difference["terms"] for sentence in describe_terms(entry)]
        rows += [("policy", change["rule"], describe_policy(change), change["limit"]["before"],
                  change["limit"]["after"], None) for change in difference["policy"]]
        ratios = {number for number, change in enumerate(difference["policy"], start=len(rows) - len(
            difference["policy"])) if change["kind"] in RATIO_KINDS}
        events = difference["events"]
        rows += [("events", e["account"], f"{e['id']} added", None, None, None) for e in events["added"]]
        rows += [("events", e["account"], f"{e['id']} removed", None, None, None) for e in events["removed"]]
        rows += [("events", c["id"], f"{field}: {f['before']} -> {f['after']}", None, None, None)
                 for c in events["changed"] for field, f in c["fields"].items()]
        rows += [("rule files", c["path"], "changed", None, None, None) for c in difference["rule_files"]["changed"]]
    kinds = {(number, column): kind_of(row[2]) for number, row in enumerate(rows)
             if row[0] in ("totals", "accounts") for column in (3, 4, 5)}
    kinds |= {(number, column): "percent" for number in ratios for column in (3, 4)}
    return View("changes", "changes", ("section", "item", "what", "before", "after", "change"),
                ("text", "text", "text", "money", "money", "money"), rows, kinds)


def approving_view(pack: Pack) -> View:
    """What you are approving: one row per term change, with the money effect on the accounts it covers."""
    difference = pack.difference
    head = difference["what_changed"] if difference is not None else None
    rows: list[tuple[Any, ...]] = []
    if head is None:
        rows.append(("-", "-", "-", "first version: no earlier version to compare with; every term is new",
                     "", "", "", None, None, ""))
    elif not head["available"]:
        rows.append(("-", "-", "-", head["reason"], "", "", "", None, None, ""))
    elif not head["changes"]:
        rows.append(("-", "-", "-", f"no term changed since {pack.baseline.label if pack.baseline else '-'}",
                     "", "", "", None, None, ""))
    for change in head["changes"] if head else []:
        effect = change["effect"] or {}
        rows.append((change["kind"], change["rule"], change["covers"], change["text"], change["before_text"],
                     change["after_text"], effect.get("line", ""), effect.get("delta"), effect.get("gross_profit"),
                     change["effect_text"]))
    return View("approving", "What you are approving",
                ("rule kind", "rule", "covers", "change", "before", "after", "money line", "line change",
                 "gross profit change", "money effect"),
                ("text", "text", "text", "text", "text", "text", "text", "money", "money", "text"), rows)


def _fill_status(sheet: Any, column: int) -> None:
    """Green for a check that holds, red for one that fails, in `column` (1-based) below the header."""
    from openpyxl.styles import PatternFill

    fills = {"holds": PatternFill("solid", fgColor=GREEN), "FAILS": PatternFill("solid", fgColor=RED)}
    for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
        if cell.value in fills:
            cell.fill = fills[cell.value]


def _stamp(sheets: Any, text: str) -> None:
    """A red first row on every sheet (the header, its freeze and its filter move down one)."""
    from openpyxl.styles import Font, PatternFill

    for sheet in sheets:
        sheet.insert_rows(1)
        sheet["A1"] = text
        sheet["A1"].font = Font(bold=True, color="FFFFFF")
        for cell in sheet[1]:
            cell.fill = PatternFill("solid", fgColor="B71C1C")
        sheet.freeze_panes = "A3"
        sheet.auto_filter.ref = sheet.dimensions.replace("A1:", "A2:", 1)


def write(pack: Pack, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image

    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets = {view.name: add_sheet(workbook, view) for view in (
        approving_view(pack), summary_view(pack), policy_view(pack), accounts_view(pack), waterfall_view(pack), risk_view(pack),
        plans_view(pack), changes_view(pack))}
    _fill_status(sheets["summary"], 4)
    _fill_status(sheets["policy"], 1)
    if pack.unverified:
        _stamp(sheets.values(), "UNVERIFIED: this version FAILED verification; do not approve from it: "
               + "; ".join(pack.unverified))
    row = 1
    for name in ("waterfall", "budgets", "accounts", "risk"):
        if name in pack.charts:
            image = Image(io.BytesIO(pack.charts[name]))
            sheets["summary"].add_image(image, f"G{row}")
            row += math.ceil(image.height / 20) + 1
    workbook.save(path)
