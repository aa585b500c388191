"""Render an optimisation for people (rich tables) and for scripts (JSON), and write its results folder.

Both formats show the same `OptimizeResult`. What must never be missed comes first and loudly: a run stopped by
its time limit says so in its status line, a plan that breaks a rule on re-check lists every breach in red, a
MILP profit that the simulator does not reproduce within the stated tolerance is flagged, and an infeasible
scenario is explained by the rules that conflict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from planner.folders import write_folder
from planner.optimize.diagnose import Conflict
from planner.optimize.frontier import Frontier
from planner.optimize.highs import Status
from planner.optimize.run import PREDICTION_TOLERANCE, SCENARIO_CALENDAR, OptimizeResult
from planner.report.files import OPTIMIZATION_FILES, Detail, View, write_csv, write_simulation_files
from planner.report.simulation import (
    FAIL,
    FORMATS,
    WIDTH,
    _print,
    _table,
    dumps,
    number,
    policy_value,
    relative,
)
from planner.rules.plan import plan_yaml
from planner.rules.schema import Event

MONEY_FAMILIES = frozenset({"budget", "margin_floor", "trade_spend_cap", "profit_floor"})
"""Families whose rows are in money; every other business row counts event weeks (or chosen options)."""
OBJECTIVES = {"profit": "gross profit", "volume": "volume", "revenue": "net sales"}
ROWS_SHOWN = 5
"""Rows listed per conflicting rule in text (JSON lists all)."""
DUALS_SHOWN = 15
WARN = "bold yellow"


# --- words and units ----------------------------------------------------------------------------------------

def status_line(result: OptimizeResult) -> str:
    gap = (f"gap {_percent(result.gap)} (target {_percent(result.gap_target)})" if math.isfinite(result.gap)
           else "gap unknown (no bound was proven in time)")
    stopped = "STOPPED BY CTRL-C" if result.interrupted else f"STOPPED AT THE TIME LIMIT ({result.time_limit:g} s)"
    if result.status is Status.OPTIMAL:
        return f"optimal: {gap}" + ("; then stopped by Ctrl-C (what came after the plan is missing)"
                                    if result.interrupted else "")
    if result.status is Status.TIME_LIMIT and result.method == SCENARIO_CALENDAR:
        return (f"{stopped} before the optimizer found a plan: the plan is the scenario's own calendar, which "
                f"breaks no rule; {gap}; raise --time-limit")
    if result.status is Status.TIME_LIMIT:
        return f"{stopped}: best plan found, {gap}; not proven optimal, raise --time-limit or --gap"
    if result.status is Status.INFEASIBLE:
        return "INFEASIBLE: no plan satisfies every rule; the rules that conflict are listed below"
    return f"NO PLAN: {stopped} before a first plan was found, and the scenario's own calendar breaks a rule"


def unit(family: str, currency: str) -> str:
    return currency if family in MONEY_FAMILIES else "event weeks"


def objective_unit(result: OptimizeResult) -> str:
    return "cases" if result.objective_kind == "volume" else result.currency


def _percent(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}%}"


def _seconds(seconds: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.1f} s" for key, value in seconds.items())


def event_json(event: Event) -> dict[str, Any]:
    return {"id": event.id, "account": event.account, "product_group": event.product_group,
            "mechanic": event.mechanic, "weeks": list(event.weeks), "locked": event.locked, "depth": event.depth,
            "funding": event.funding}


# --- JSON ---------------------------------------------------------------------------------------------------

def frontier_json(frontier: Frontier | None) -> list[dict[str, Any]]:
    if frontier is None:
        return []
    return [{**asdict(point), "status": point.status.value} for point in frontier.points]


def conflicts_json(conflicts: Sequence[Conflict], currency: str) -> list[dict[str, Any]]:
    return [{"rule": item.rule, "family": item.family, "role": item.role, "violated_by": item.violated_by,
             "share": item.share, "unit": unit(item.family, currency),
             "rows": [{"account": row.label.account, "detail": row.label.detail, "limit": row.limit,
                       "bound": row.bound, "fixed": row.fixed, "violated_by": row.violated_by, "weight": row.weight}
                      for row in item.rows]}
            for item in conflicts]


def optimization_json(result: OptimizeResult) -> dict[str, Any]:
    """The `planner optimize --format json` contract (docs/optimizer.md, 'Command line')."""
    simulation = result.simulation
    return {
        "scenario": result.scenario,
        "name": result.name,
        "currency": result.currency,
        "objective_kind": result.objective_kind,
        "status": result.status.value,
        "status_text": status_line(result),
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "gap_target": result.gap_target,
        "method": result.method,
        "interrupted": result.interrupted,
        "time_limit": result.time_limit,
        "time": dict(result.seconds),
        "size": dict(result.size),
        "budget_dual": result.budget_dual,
        "duals": [{"family": dual.label.family, "rule": dual.label.rule, "account": dual.label.account,
                   "detail": dual.label.detail, "limit": dual.limit, "dual": dual.value} for dual in result.duals],
        "predicted_profit": result.predicted_profit,
        "simulated_profit": result.simulated_profit,
        "difference": result.difference,
        "rebates": {"predicted": result.predicted_rebates,
                    "simulated": simulation.totals.rebates if simulation else None},
        "tolerance": PREDICTION_TOLERANCE,
        "prediction_ok": result.prediction_ok,
        "plan": [event_json(event) for event in result.events],
        "vividness": [asdict(purchase) for purchase in result.vividness],
        "totals": simulation.totals.as_dict() if simulation else None,
        "accounts": [asdict(account) for account in result.accounts],
        "versus": {item.name: asdict(item) for item in result.versus},
        "violations": [asdict(check) for check in result.violations],
        "frontier": frontier_json(result.frontier),
        "frontier_check": None if result.frontier is None else {
            "budget": result.frontier.budget, "scenario_max": result.frontier.scenario_max,
            "monotone": result.frontier.monotone, "flags": result.frontier.flags, "notes": result.frontier.notes},
        "conflicts": conflicts_json(result.conflicts, result.currency),
        "diagnosis_status": result.diagnosis_status.value if result.diagnosis_status else None,
        "applied_overrides": list(simulation.applied_overrides) if simulation else [],
        "exit_code": result.exit_code,
    }


# --- text ---------------------------------------------------------------------------------------------------

def _headline(result: OptimizeResult) -> Text:
    text = Text(result.scenario, style="bold")
    text.append(f" - {result.name}" if result.name else "")
    text.append(f"\nmaximise {OBJECTIVES[result.objective_kind]}"
                + (" (gross profit at least the no-promotion plan's)" if result.objective_kind != "profit" else "")
                + f"; {result.size.get('options', 0):,} options (binaries), "
                + (f"{result.size['investments']:,} vividness investments, " if result.size.get("investments") else "")
                + f"{result.size.get('rows', 0):,} rows")
    good = result.status is Status.OPTIMAL
    text.append("\nstatus: ")
    text.append(status_line(result), style="bold green" if good else FAIL)
    if result.has_plan:
        currency = objective_unit(result)
        bound = f"{number(result.bound, 'money')} {currency}" if math.isfinite(result.bound) else "unknown"
        how = ("the scenario's own calendar (no optimizer plan in time)" if result.method == SCENARIO_CALENDAR
               else f"solved by the {result.method}")
        text.append(f"\nobjective {number(result.objective, 'money')} {currency}, best bound {bound}; {how}")
    text.append(f"\ntime: {_seconds(result.seconds)}")
    return text


def _honesty(result: OptimizeResult) -> list[RenderableType]:
    currency = result.currency
    table = _table("Predicted (MILP) vs simulated gross profit", "Predicted", "Simulated", "Difference",
                   "Tolerance", numeric_from=0)
    predicted = (f"{number(result.predicted_profit, 'money')} {currency}" if result.predicted_profit is not None
                 else "n/a (no MILP plan)")
    table.add_row(predicted,
                  f"{number(result.simulated_profit or 0.0, 'money')} {currency}", _percent(result.difference, 3),
                  _percent(PREDICTION_TOLERANCE, 1), style=None if result.prediction_ok else FAIL)
    out: list[RenderableType] = [table]
    if not result.prediction_ok:
        out.append(Text("WARNING: the simulator does not reproduce the MILP's profit within the tolerance; trust the "
                        "simulated number", style=FAIL))
    return out


def _violations(result: OptimizeResult) -> RenderableType:
    if not result.violations:
        checks = len(result.simulation.policy) if result.simulation else 0
        return Text(f"Re-check: the plan keeps every rule ({checks:,} policy and calendar checks by the simulator, "
                    "and the plan file check)", style="green")
    table = _table(f"RULES BROKEN: the plan breaks {len(result.violations)} check(s) on re-check", "Rule", "Kind",
                   "Scope", "Actual", "Limit", "Detail", numeric_from=3)
    table.columns[-1].justify = "left"
    for check in result.violations:
        table.add_row(check.rule, check.kind, check.scope, policy_value(check, check.actual),
                      policy_value(check, check.limit), check.detail, style=FAIL)
    return table


def _versus(result: OptimizeResult) -> Table:
    currency = result.currency
    table = _table("The optimized plan against the alternatives (simulated)", "Plan", f"Gross profit ({currency})",
                   "Volume (cases)", f"Budget used ({currency})", "Rules broken", f"Optimized gain ({currency})",
                   "Gain %")
    simulation = result.simulation
    if simulation is not None:
        table.add_row("optimized", number(simulation.totals.gross_profit, "money"),
                      number(simulation.totals.volume, "volume"), number(simulation.totals.budget_used, "money"),
                      str(len(result.violations)), "", "", style="bold")
    for item in result.versus:
        table.add_row(item.name.replace("_", " "), number(item.gross_profit, "money"), number(item.volume, "volume"),
                      number(item.budget_used, "money"), str(item.policy_failures), number(item.gain, "money"),
                      relative(item.relative))
    return table


def _vividness(result: OptimizeResult) -> Table:
    """The vividness investments the optimizer decided: bought or not, with their yearly cost."""
    table = _table("Vividness the optimizer decided (shelf targets, displays, coolers)", "Item", "Kind", "Account",
                   f"Cost ({result.currency})", "Bought")
    for purchase in result.vividness:
        table.add_row(purchase.item, purchase.kind, purchase.account, number(purchase.fee, "money"),
                      "yes" if purchase.bought else "no")
    bought = sum(p.fee for p in result.vividness if p.bought)
    table.add_row("total", "", "", f"{number(bought, 'money')} of {number(sum(p.fee for p in result.vividness), 'money')}",
                  f"{sum(p.bought for p in result.vividness)} of {len(result.vividness)}", style="bold")
    return table


def _accounts(result: OptimizeResult) -> Table:
    currency = result.currency
    weeks: dict[str, int] = {}
    for event in result.events:
        weeks[event.account] = weeks.get(event.account, 0) + len(event.weeks)
    table = _table("Accounts under the optimized plan", "Account", "Event weeks", f"Promo spend ({currency})",
                   "Promo ROI", f"Budget used ({currency})", f"Gross profit ({currency})")
    for account in result.accounts:
        table.add_row(account.id, str(weeks.get(account.id, 0)), number(account.promo_spend, "money"),
                      number(account.promo_roi, "percent"), number(account.budget_used, "money"),
                      number(account.gross_profit, "money"))
    return table


def _duals(result: OptimizeResult) -> list[RenderableType]:
    per = objective_unit(result)
    out: list[RenderableType] = []
    if result.budget_dual is not None:
        out.append(Text(f"Budget dual: one more {result.currency} of the total budget is worth "
                        f"{result.budget_dual:,.4f} {per} of {OBJECTIVES[result.objective_kind]} (LP relaxation)"))
    if not result.duals:
        return out
    table = _table(f"Binding rules: change of {OBJECTIVES[result.objective_kind]} ({per}) per unit their limit is "
                   f"raised (LP relaxation duals; {min(len(result.duals), DUALS_SHOWN)} of {len(result.duals)})",
                   "Rule", "Family", "Account", "Detail", "Limit", "Dual", "Per", numeric_from=5)
    for dual in result.duals[:DUALS_SHOWN]:
        table.add_row(dual.label.rule, dual.label.family, dual.label.account, dual.label.detail, dual.limit,
                      f"{dual.value:+,.4f}", unit(dual.label.family, result.currency))
    out.append(table)
    return out


def _frontier(frontier: Frontier, currency: str) -> list[RenderableType]:
    table = _table(f"Frontier: best plan against the max of budget {frontier.budget} "
                   f"(scenario: {number(frontier.scenario_max, 'money')} {currency})", "Budget", "Share", "Status",
                   "Objective", "Gap", "Simulated profit", "Spend", "Seconds", numeric_from=0)
    for point in frontier.points:
        table.add_row(number(point.budget, "money"), f"{point.share:.0%}", point.status.value,
                      number(point.objective, "money"), _percent(point.gap), number(point.simulated_profit, "money"),
                      number(point.spend, "money"), f"{point.seconds:.1f}")
    out: list[RenderableType] = [table]
    for flag in frontier.flags:
        out.append(Text(f"NOT MONOTONE: {flag}", style=FAIL))
    for note in frontier.notes:
        out.append(Text(f"note: {note}", style=WARN))
    if frontier.monotone and frontier.points:
        out.append(Text("profit never falls as the budget grows (within the gaps)"))
    return out


def _conflicts(result: OptimizeResult) -> list[RenderableType]:
    diagnosis = result.diagnosis_status
    if not result.conflicts:
        return [Text("The diagnosis found no rule to relax" + (f" ({diagnosis.value})" if diagnosis else ""),
                     style=FAIL)]
    currency = result.currency
    shown = [item for item in result.conflicts if item.role != "minor"]
    minor = [item.rule for item in result.conflicts if item.role == "minor"]
    summary = _table("Conflicting rules (relaxed: what the least relaxation breaks; binding: what it is relaxed "
                     "against; weight: share of the proof)", "Rule", "Family", "Role", "Rows", "Violated by",
                     "Unit", "Weight", numeric_from=3)
    details = _table(f"Rows of the conflicting rules (at most {ROWS_SHOWN} per rule)", "Rule", "Account", "Detail",
                     "Limit", "Bound", "Fixed part", "Violated by", numeric_from=4)
    for item in shown:
        summary.add_row(item.rule, item.family, item.role, str(len(item.rows)),
                        _amount(item.violated_by, item.family) if item.relaxed else "",
                        unit(item.family, currency), _percent(item.share, 1), style=FAIL if item.relaxed else None)
        for row in item.rows[:ROWS_SHOWN]:
            details.add_row(item.rule, row.label.account, row.label.detail, row.limit,
                            _amount(row.bound, item.family), _amount(row.fixed, item.family) if row.fixed else "",
                            _amount(row.violated_by, item.family) if row.violated_by else "")
        if len(item.rows) > ROWS_SHOWN:
            details.add_row(item.rule, f"... and {len(item.rows) - ROWS_SHOWN} more", "", "", "", "", "")
    out: list[RenderableType] = [summary, details]
    for item in shown:
        fixed = [row for row in item.rows if row.violated_by and row.fixed]
        for row in fixed:
            out.append(Text(f"{item.rule}{' ' + row.label.account if row.label.account else ''}: "
                            f"{_amount(row.fixed, item.family)} {unit(item.family, currency)} of it is fixed, not "
                            f"decided by the optimizer (for a budget: vividness kept as the rules write it)",
                            style=WARN))
    if minor:
        out.append(Text(f"also shaping the cheapest plan, with little weight: {', '.join(minor)}"))
    if diagnosis is Status.TIME_LIMIT:
        out.append(Text("the diagnosis stopped at the time limit: the relaxation shown may be more than needed",
                        style=WARN))
    return out


def _amount(value: float, family: str) -> str:
    return number(value, "money") if family in MONEY_FAMILIES else f"{value:,.2f}".rstrip("0").rstrip(".")


def optimization_text(result: OptimizeResult, color: bool = False, width: int = WIDTH) -> str:
    renderables: list[RenderableType] = [_headline(result)]
    if result.status is Status.INFEASIBLE:
        renderables.extend(_conflicts(result))
    if result.has_plan:
        renderables.append(_violations(result))
        renderables.extend(_honesty(result))
        renderables.append(_versus(result))
        renderables.append(_accounts(result))
        if result.vividness:
            renderables.append(_vividness(result))
        renderables.extend(_duals(result))
        if result.frontier is not None:
            renderables.extend(_frontier(result.frontier, result.currency))
        renderables.append(Text(f"plan: {len(result.events)} events; --out DIR writes it as plan.yaml for "
                                "`planner simulate --plan`"))
    return _print(renderables, color, width)


def render_optimization(result: OptimizeResult, fmt: str, color: bool = False, width: int = WIDTH) -> str:
    if fmt == "json":
        return dumps(optimization_json(result))
    if fmt == "text":
        return optimization_text(result, color, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# --- files --------------------------------------------------------------------------------------------------

def frontier_view(frontier: Frontier) -> View:
    columns = ("budget", "share", "status", "objective", "bound", "gap", "profit", "simulated_profit", "spend",
               "seconds", "method")
    rows = [(point.budget, point.share, point.status.value, point.objective, point.bound, point.gap, point.profit,
             point.simulated_profit, point.spend, point.seconds, point.method) for point in frontier.points]
    kinds = ("money", "percent", "text", "money", "money", "percent", "money", "money", "money", "text", "text")
    return View("frontier", "frontier", columns, kinds, rows)


def write_optimization(result: OptimizeResult, out: Path, detail: Detail | None = None, label: str = "") -> list[str]:
    """plan.yaml (loadable by `planner simulate --plan`; `label`: the title `planner plan submit --plan` gives its
    version), optimization.json, frontier.csv when traced, and the plan's simulation files (with `detail`'s
    display names), all staged and moved into `out` together. Only a run with a plan writes anything. The per-SKU
    table is `planner simulate --plan plan.yaml --out`'s."""
    if result.simulation is None:
        raise ValueError("only a run with a plan writes a results folder")
    simulation = result.simulation

    def write(folder: Path) -> list[str]:
        (folder / "plan.yaml").write_text(plan_yaml(result.events, result.scenario, "optimizer", result.bought, label), encoding="utf-8")
        (folder / "optimization.json").write_text(dumps(optimization_json(result)) + "\n", encoding="utf-8")
        written = ["plan.yaml", "optimization.json"]
        if result.frontier is not None:
            write_csv(frontier_view(result.frontier), folder / "frontier.csv")
            written.append("frontier.csv")
        return written + write_simulation_files(simulation, folder, detail)

    return write_folder(out, write, OPTIMIZATION_FILES)
