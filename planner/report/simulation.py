"""Render simulations and comparisons for people (rich tables) and for scripts (JSON).

Text and JSON show the same `Simulation` fields through one KPI list, so a number a planner reads in the terminal is
the number a script gets. JSON carries every `Kpis` field (via `as_dict`), text only the labelled headline ones.
Renderers are pure functions returning strings: the command line, a notebook and a test get identical output, and
the caller decides on colour (only a real terminal should get ANSI codes; tests compare plain text).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from planner.results import Kpis, PolicyCheck, Simulation, Uncertainty

FORMATS = ("text", "json")
WIDTH = 0
"""Default text width: as wide as the widest table (a terminal passes its own width, which only wraps titles)."""
UNLIMITED = 10_000
KINDS: dict[str, str] = {name.name: "money" for name in fields(Kpis)} | {
    "volume": "volume", "incremental_volume": "volume", "gross_margin": "percent", "trade_spend_pct": "percent",
    "promo_roi": "percent", "dead_net_per_case": "per_case",
}
"""How each KPI is measured: decides its unit, its text format and its Excel number format."""
HEADLINE: tuple[tuple[str, str], ...] = (
    ("volume", "Volume"), ("incremental_volume", "  incremental (promotions)"), ("gross_sales", "Gross sales"),
    ("trade_spend", "Trade spend"), ("off_invoice", "  off-invoice discounts"),
    ("promo_funding", "  promotion funding"), ("event_costs", "  event costs"),
    ("fixed_discounts", "  fixed discounts"), ("vividness", "  vividness fees"), ("rebates", "  rebates"),
    ("trade_spend_pct", "Trade spend % of gross sales"), ("net_sales", "Net sales"), ("cogs", "COGS"),
    ("gross_profit", "Gross profit"), ("gross_margin", "Gross margin %"), ("promo_roi", "Promotion ROI"),
    ("dead_net_per_case", "Dead-net price per case"), ("budget_used", "Promotion budget used"),
)
PERCENT_POLICIES = frozenset({"margin_floor", "trade_spend_cap"})
FAIL = "bold red"


# --- numbers for finance ------------------------------------------------------------------------------------

def kind_of(kpi: str) -> str:
    return KINDS.get(kpi, "money")


def unit(kind: str, currency: str) -> str:
    return {"volume": "cases", "percent": "%", "per_case": f"{currency}/case"}.get(kind, currency)


def number(value: float, kind: str) -> str:
    """Thousands separators for money and cases, one decimal for percentages, cents for prices per case."""
    if not math.isfinite(value):
        return "n/a"
    if kind == "percent":
        return f"{_zero(value, 3):.1%}"
    if kind == "per_case":
        return f"{_zero(value, 2):,.2f}"
    return f"{_zero(value, 0):,.0f}"


def delta(value: float, kind: str) -> str:
    """A signed change; a change in a percentage is in points, not a percentage of a percentage."""
    if not math.isfinite(value):
        return "n/a"
    if kind == "percent":
        return f"{_zero(value * 100, 1):+.1f} pt".replace("+0.0", "0.0")
    if kind == "per_case":
        return f"{_zero(value, 2):+,.2f}".replace("+0.00", "0.00")
    return f"{_zero(value, 0):+,.0f}".replace("+0", "0") if round(value) == 0 else f"{value:+,.0f}"


def relative(value: float | None) -> str:
    return "n/a" if value is None else f"{_zero(value, 3):+.1%}".replace("+0.0%", "0.0%")


def _zero(value: float, digits: int) -> float:
    """Rounds that print as zero print as 0, not -0."""
    return 0.0 if round(value, digits) == 0 else value


def relative_change(new: float, old: float) -> float | None:
    return (new - old) / abs(old) if old else None


def policy_value(check: PolicyCheck, value: float) -> str:
    if check.kind == "calendar":
        return ""
    return number(value, "percent" if check.kind in PERCENT_POLICIES else "money")


# --- JSON ---------------------------------------------------------------------------------------------------

def _finite(value: Any) -> Any:
    """NaN and infinity are not JSON; a ratio over nothing is reported as null rather than breaking the output."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(_finite(document), indent=2, ensure_ascii=False, default=str, allow_nan=False)


def uncertainty_json(uncertainty: Uncertainty | None) -> dict[str, Any] | None:
    if uncertainty is None:
        return None
    return {
        "draws": uncertainty.draws,
        "seed": uncertainty.seed,
        "totals": {kpi: asdict(spread) for kpi, spread in uncertainty.totals.items()},
        "accounts": {account: {kpi: asdict(spread) for kpi, spread in kpis.items()}
                     for account, kpis in uncertainty.accounts.items()},
        "target_probability": dict(uncertainty.target_probability),
    }


def simulation_json(simulation: Simulation) -> dict[str, Any]:
    """The `planner simulate --format json` contract (docs: PRODUCT.md, 'Command line')."""
    return {
        "scenario": simulation.scenario,
        "name": simulation.name,
        "year": simulation.year,
        "currency": simulation.currency,
        "plan_source": simulation.plan_source,
        "weeks": simulation.weeks,
        "totals": simulation.totals.as_dict(),
        "accounts": [{"id": account, **kpis.as_dict()} for account, kpis in simulation.accounts.items()],
        "policy": [asdict(check) for check in simulation.policy],
        "growth": dict(simulation.growth),
        "shelf_targets": list(simulation.shelf_targets),
        "uncertainty": uncertainty_json(simulation.uncertainty),
        "applied_overrides": list(simulation.applied_overrides),
    }


def _no_kpis() -> Kpis:
    return Kpis(**{item.name: 0.0 for item in fields(Kpis)})


def kpi_deltas(new: Kpis, old: Kpis) -> dict[str, float]:
    before = old.as_dict()
    return {kpi: value - before[kpi] for kpi, value in new.as_dict().items()}


def account_deltas(new: Simulation, old: Simulation) -> dict[str, dict[str, float]]:
    """Per account, over the union of both scenarios' accounts: an account one scenario lacks counts as all zeros,
    so the money deltas of the accounts add up to the delta of the totals."""
    accounts = list(old.accounts) + [account for account in new.accounts if account not in old.accounts]
    return {account: kpi_deltas(new.accounts.get(account, _no_kpis()), old.accounts.get(account, _no_kpis()))
            for account in accounts}


def comparison_json(simulations: Sequence[Simulation]) -> dict[str, Any]:
    """The `planner compare --format json` contract: every scenario's totals, and deltas vs the first scenario."""
    first = simulations[0]
    return {
        "scenarios": [
            {"id": item.scenario, "name": item.name, "year": item.year, "currency": item.currency,
             "plan_source": item.plan_source, "totals": item.totals.as_dict(),
             "policy_failures": [asdict(check) for check in item.policy if not check.ok],
             "uncertainty": uncertainty_json(item.uncertainty), "applied_overrides": list(item.applied_overrides)}
            for item in simulations
        ],
        "deltas": [
            {"scenario": item.scenario, "vs": first.scenario, "totals": kpi_deltas(item.totals, first.totals),
             "relative": {kpi: relative_change(value, first.totals.as_dict()[kpi])
                          for kpi, value in item.totals.as_dict().items()},
             "accounts": account_deltas(item, first)}
            for item in simulations[1:]
        ],
    }


# --- text ---------------------------------------------------------------------------------------------------

def _table(title: str, *columns: str, numeric_from: int = 1) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  title_style="bold", header_style="bold")
    for position, column in enumerate(columns):
        table.add_column(column, justify="right" if position >= numeric_from else "left", no_wrap=True)
    return table


def _print(renderables: list[RenderableType], color: bool, width: int) -> str:
    """Markup is off (ids and details may hold '[...]'); colour only when the caller says it is a terminal."""
    def make(file: io.StringIO, size: int) -> Console:
        return Console(file=file, width=size, force_terminal=color, color_system="standard" if color else None,
                       no_color=not color, markup=False, highlight=False, emoji=False, legacy_windows=False)

    measuring = make(io.StringIO(), UNLIMITED)
    natural = max(measuring.measure(renderable).maximum for renderable in renderables)
    buffer = io.StringIO()
    console = make(buffer, max(width, natural))  # a table wider than the terminal wraps; its digits stay whole
    for renderable in renderables:
        console.print(renderable)
        console.print()
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip().splitlines())


def _headline(simulation: Simulation) -> Text:
    text = Text(f"{simulation.scenario}", style="bold")
    text.append(f" - {simulation.name}" if simulation.name else "")
    text.append(f"\nfiscal {simulation.year}, {simulation.weeks} weeks, {simulation.currency}; "
                f"plan: {simulation.plan_source}")
    return text


def _totals_table(simulation: Simulation) -> Table:
    table = _table("Totals", "KPI", "Value", "Unit", numeric_from=1)
    values = simulation.totals.as_dict()
    for kpi, label in HEADLINE:
        table.add_row(label, number(values[kpi], kind_of(kpi)), unit(kind_of(kpi), simulation.currency))
    return table


def _accounts_table(simulation: Simulation) -> Table:
    currency = simulation.currency
    table = _table("Accounts", "Account", f"Gross sales ({currency})", "Trade spend %", "Gross margin %",
                   f"Gross profit ({currency})", "Promo ROI", "Growth vs LY", f"Budget used ({currency})")

    def row(name: str, kpis: Kpis, growth: str) -> list[str]:
        return [name, number(kpis.gross_sales, "money"), number(kpis.trade_spend_pct, "percent"),
                number(kpis.gross_margin, "percent"), number(kpis.gross_profit, "money"),
                number(kpis.promo_roi, "percent"), growth, number(kpis.budget_used, "money")]

    for account, kpis in simulation.accounts.items():
        table.add_row(*row(account, kpis, number(simulation.growth.get(account, math.nan), "percent")))
    table.add_section()
    table.add_row(*row("total", simulation.totals, ""), style="bold")
    return table


def _policy_table(simulation: Simulation) -> Table:
    """Failures first and in red: they are what finance must act on; passing checks follow for the record."""
    failing = sum(not check.ok for check in simulation.policy)
    table = _table(f"Policy checks: {failing} of {len(simulation.policy)} fail", "Status", "Rule", "Kind", "Scope",
                   "Actual", "Limit", "Detail", numeric_from=4)
    table.columns[-1].justify = "left"
    for check in sorted(simulation.policy, key=lambda item: item.ok):
        table.add_row("FAIL" if not check.ok else "ok", check.rule, check.kind, check.scope,
                      policy_value(check, check.actual), policy_value(check, check.limit), check.detail,
                      style=None if check.ok else FAIL)
    return table


def _uncertainty_tables(simulation: Simulation) -> list[RenderableType]:
    uncertainty = simulation.uncertainty
    if uncertainty is None:
        return []
    spreads = _table(f"Uncertainty: P10 / P50 / P90 over {uncertainty.draws:,} draws (seed {uncertainty.seed})",
                     "KPI", "P10", "P50", "P90", "Unit")
    for kpi, spread in uncertainty.totals.items():
        kind = kind_of(kpi)
        spreads.add_row(kpi.replace("_", " "), number(spread.p10, kind), number(spread.p50, kind),
                        number(spread.p90, kind), unit(kind, simulation.currency))
    out: list[RenderableType] = [spreads]
    if uncertainty.target_probability:
        targets = _table("Probability of reaching the growth target", "Account", "Growth vs LY (plan)",
                         "Probability")
        for account, probability in uncertainty.target_probability.items():
            targets.add_row(account, number(simulation.growth.get(account, math.nan), "percent"),
                            f"{probability:.0%}")
        out.append(targets)
    return out


def _overrides(applied: Sequence[str], title: str = "Applied overrides") -> Text:
    text = Text(title, style="bold")
    text.append("".join(f"\n  {line}" for line in applied) or "\n  none")
    return text


def simulation_text(simulation: Simulation, color: bool = False, width: int = WIDTH) -> str:
    renderables: list[RenderableType] = [_headline(simulation), _totals_table(simulation),
                                         _accounts_table(simulation), _policy_table(simulation)]
    renderables.extend(_uncertainty_tables(simulation))
    renderables.append(_overrides(simulation.applied_overrides))
    return _print(renderables, color, width)


def comparison_text(simulations: Sequence[Simulation], color: bool = False, width: int = WIDTH) -> str:
    """One column per scenario, then a change and a relative change per later scenario vs the first."""
    first, later = simulations[0], simulations[1:]
    currency = first.currency
    headline = _table(f"Headline KPIs, deltas vs {first.scenario}", "KPI", "Unit",
                      *(item.scenario for item in simulations),
                      *(column for item in later for column in (f"Δ {item.scenario}", f"Δ% {item.scenario}")),
                      numeric_from=2)
    for kpi, label in HEADLINE:
        kind = kind_of(kpi)
        old = getattr(first.totals, kpi)
        cells = [number(getattr(item.totals, kpi), kind) for item in simulations]
        for item in later:
            new = getattr(item.totals, kpi)
            cells += [delta(new - old, kind), "" if kind == "percent" else relative(relative_change(new, old))]
        headline.add_row(label.strip(), unit(kind, currency), *cells)
    accounts = _table(f"Accounts: gross profit and trade spend ({currency}), deltas vs {first.scenario}", "Account",
                      f"Gross profit {first.scenario}", *(f"Δ gross profit {item.scenario}" for item in later),
                      f"Trade spend {first.scenario}", *(f"Δ trade spend {item.scenario}" for item in later))
    changes = [account_deltas(item, first) for item in later]
    names = list(dict.fromkeys([account for item in simulations for account in item.accounts]))
    for account in names:
        base = first.accounts.get(account, _no_kpis())
        moved = [change.get(account, {}) for change in changes]
        accounts.add_row(account, number(base.gross_profit, "money"),
                         *(delta(change.get("gross_profit", 0.0), "money") for change in moved),
                         number(base.trade_spend, "money"),
                         *(delta(change.get("trade_spend", 0.0), "money") for change in moved))
    failures = _table("Policy failures", "Scenario", "Rule", "Kind", "Scope", "Actual", "Limit", numeric_from=4)
    for item in simulations:
        failing = [check for check in item.policy if not check.ok]
        for check in failing:
            failures.add_row(item.scenario, check.rule, check.kind, check.scope, policy_value(check, check.actual),
                             policy_value(check, check.limit), style=FAIL)
        if not failing:
            failures.add_row(item.scenario, "none", "", "", "", "")
    return _print([headline, accounts, failures], color, width)


def render_simulation(simulation: Simulation, fmt: str, color: bool = False, width: int = WIDTH) -> str:
    if fmt == "json":
        return dumps(simulation_json(simulation))
    if fmt == "text":
        return simulation_text(simulation, color, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_comparison(simulations: Sequence[Simulation], fmt: str, color: bool = False, width: int = WIDTH) -> str:
    if fmt == "json":
        return dumps(comparison_json(simulations))
    if fmt == "text":
        return comparison_text(simulations, color, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
