"""Promo Planner from Python: load, simulate, compare, optimize and review, with pandas DataFrames beside the
typed results (docs/api.md).

Every function takes a `Scenario` from `load` or a scenario file's path. A scenario with error findings is
refused, as the command line refuses it: `load` raises `ScenarioError` carrying the findings. A plan file named
by the scenario's `options.plan`, or by `load(..., plan=FILE)`, is the calendar every function evaluates.

Tables are tidy: `cells` has one row per account x product x week with named columns (ids, English and
Chinese names, week and its start date, the mechanic promoted, volume, the P&L, the SKU's order suggestion);
units are in `frame.attrs["units"]` (cases, or the rule set's currency).

>>> from planner import api
>>> base = api.load("scenarios/base.yaml")
>>> base.id, base.plan_source
('base-2027', 'rules')
>>> result = api.simulate(base)
>>> result.cells[["account", "product", "week", "volume", "gross_profit"]].columns.tolist()
['account', 'product', 'week', 'volume', 'gross_profit']
>>> bool(abs(result.cells["volume"].sum() - result.simulation.totals.volume) < 1e-6 * result.simulation.totals.volume)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import pandas as pd

from planner.frames import names, product_weeks
from planner.optimize.run import OptimizeResult
from planner.prepare import Prepared, prepare
from planner.prepare import simulate as simulate_prepared
from planner.results import Simulation
from planner.review.review import Review
from planner.rules.findings import Finding, Severity
from planner.rules.plan import plan_yaml
from planner.rules.schema import Event, RuleSet

PathText = str | PathLike[str]


class ScenarioError(ValueError):
    """The scenario has error findings: it is not run. `findings` holds every one, located."""

    def __init__(self, scenario: str, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        shown = "; ".join(f"{f.code} {f.location.file}:{f.location.line}:{f.location.column} {f.message}"
                          for f in self.findings[:3])
        more = f" (and {len(self.findings) - 3} more)" if len(self.findings) > 3 else ""
        super().__init__(f"{scenario}: {len(self.findings)} error finding(s): {shown}{more}")


@dataclass(frozen=True)
class Scenario:
    """A scenario resolved and checked, ready to simulate or optimize; `events` is the calendar it runs."""

    prepared: Prepared = field(repr=False)

    @property
    def id(self) -> str:
        return self.prepared.resolved.id

    @property
    def rules(self) -> RuleSet:
        return self.prepared.resolved.rules

    @property
    def events(self) -> list[Event]:
        plan = self.prepared.plan
        return list(plan.events if plan else self.rules.events)

    @property
    def plan_source(self) -> str:
        """'rules' (the scenario's own events) or the plan file it runs."""
        return self.prepared.plan.file if self.prepared.plan else "rules"

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.prepared.findings + self.prepared.consistency if f.severity is Severity.WARNING]


def load(path: PathText, *, plan: PathText | None = None, sets: Sequence[str] = (),
         allow_findings: bool = False) -> Scenario:
    """Resolve and check a scenario file, as `planner simulate` does before it runs.

    `plan` is a plan file to evaluate instead of the rules' events (as `--plan`, relative to the working
    directory); `sets` are `--set` overrides. Raises `ScenarioError` with the findings when any is an error;
    `allow_findings` lets consistency errors pass (a deliberate what-if), as `--allow-findings` does.

    >>> from planner import api
    >>> api.load("scenarios/base.yaml", sets=["budgets.bud-total-2027.max=1"])
    Traceback (most recent call last):
    ...
    planner.api.ScenarioError: scenarios/base.yaml: ... error finding(s): ...
    """
    entries = list(sets) + ([f'options.plan="{Path(plan)}"'] if plan is not None else [])
    prepared = prepare(Path(path), entries)
    blocking = [f for f in prepared.findings if f.severity is Severity.ERROR]
    if not allow_findings:
        blocking += [f for f in prepared.consistency if f.severity is Severity.ERROR]
    if blocking:
        raise ScenarioError(str(path), blocking)
    return Scenario(prepared)


def _scenario(scenario: Scenario | PathText) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load(scenario)


@dataclass(frozen=True)
class SimulationResult:
    """A simulation: the typed result, and its tables."""

    simulation: Simulation
    cells: pd.DataFrame
    """One row per carried account x product x week (planner.frames.product_weeks)."""
    accounts: pd.DataFrame
    """One row per account: names, every KPI, growth vs last year."""


def _accounts(rules: RuleSet, simulation: Simulation) -> pd.DataFrame:
    rows = []
    for account in rules.accounts:
        english, chinese = names(account.name, account.id)
        kpis = simulation.accounts[account.id].as_dict()
        rows.append({"account": account.id, "account_name": english, "account_name_zh": chinese,
                     "channel": account.channel, "tier": account.tier, **kpis,
                     "growth_vs_last_year": simulation.growth.get(account.id)})
    return pd.DataFrame(rows)


def simulate(scenario: Scenario | PathText, *, draws: int | None = 0) -> SimulationResult:
    """Simulate the scenario's calendar (its plan file if it names one); deterministic unless `draws` (None: the
    scenario's own options.draws).

    >>> from planner import api
    >>> accounts = api.simulate("scenarios/base.yaml").accounts
    >>> accounts.loc[accounts["account"] == "carrefour", ["account_name", "account_name_zh"]].values.tolist()
    [['Carrefour China - East', '家乐福华东']]
    """
    chosen = _scenario(scenario)
    simulation = simulate_prepared(chosen.prepared, draws)
    return SimulationResult(simulation, product_weeks(chosen.rules, chosen.events),
                            _accounts(chosen.rules, simulation))


@dataclass(frozen=True)
class Comparison:
    """Scenarios side by side: the typed simulations, totals per KPI with deltas against the first, and every
    account's KPIs per scenario (long)."""

    simulations: list[Simulation]
    totals: pd.DataFrame
    """Rows: KPIs; columns: each scenario, then `delta <scenario>` against the first."""
    accounts: pd.DataFrame
    """One row per scenario x account x KPI."""


def compare(*scenarios: Scenario | PathText, draws: int | None = 0) -> Comparison:
    """Simulate scenarios and put them side by side, deltas against the first.

    >>> from planner import api
    >>> side = api.compare("scenarios/base.yaml", "scenarios/no-bogo-carrefour.yaml")
    >>> side.totals.columns.tolist()
    ['base-2027', 'no-bogo-carrefour', 'delta no-bogo-carrefour']
    >>> bool(side.totals.loc["volume", "delta no-bogo-carrefour"] < 0)
    True
    """
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    chosen = [_scenario(item) for item in scenarios]
    simulations = [simulate_prepared(item.prepared, draws) for item in chosen]
    labels = [simulation.scenario for simulation in simulations]
    totals = pd.DataFrame({label: simulation.totals.as_dict() for label, simulation in zip(labels, simulations)})
    for label in labels[1:]:
        totals[f"delta {label}"] = totals[label] - totals[labels[0]]
    rows = [{"scenario": label, "account": account, "kpi": kpi, "value": value}
            for label, simulation in zip(labels, simulations)
            for account, kpis in simulation.accounts.items() for kpi, value in kpis.as_dict().items()]
    return Comparison(simulations, totals, pd.DataFrame(rows))


@dataclass(frozen=True)
class Optimization:
    """An optimized plan: the typed result (status, objective, gap, duals ...), its events and its cells."""

    result: OptimizeResult
    cells: pd.DataFrame | None
    """The plan's account x product x week table; None when no plan was found."""

    @property
    def events(self) -> list[Event]:
        return self.result.events

    def plan_text(self) -> str:
        """The plan file, as `planner optimize --out` writes it (for `load(..., plan=FILE)`)."""
        return plan_yaml(self.result.events, self.result.scenario, "optimizer", self.result.bought)

    def write_plan(self, path: PathText) -> Path:
        target = Path(path)
        target.write_text(self.plan_text(), encoding="utf-8")
        return target


def optimize(scenario: Scenario | PathText, *, time_limit: float | None = None, gap: float | None = None) -> Optimization:
    """Find the promotion plan that earns the most within every rule (as `planner optimize`), re-checked by the
    simulator. The demo takes minutes; tests/test_api.py runs this on a small world.

    >>> from planner import api
    >>> best = api.optimize("scenarios/base.yaml", time_limit=180)  # doctest: +SKIP
    >>> best.result.status.value, len(best.events)  # doctest: +SKIP
    ('optimal', 594)
    """
    from planner.optimize.run import optimize as run_optimize

    chosen = _scenario(scenario)
    plan = chosen.prepared.plan
    result = run_optimize(chosen.prepared.resolved, time_limit, gap, calendar=plan.events if plan else None,
                          applied=chosen.prepared.applied)
    cells = product_weeks(chosen.rules if result.bought is None else _bought(chosen.rules, result), result.events) \
        if result.simulation is not None else None
    return Optimization(result, cells)


def _bought(rules: RuleSet, result: OptimizeResult) -> RuleSet:
    from planner.rules.vividness import buy

    return buy(rules, result.bought or {})


@dataclass(frozen=True)
class ReviewResult:
    """Plan against actuals: the typed review, per-account year-to-date figures (actual_*, plan_*, variance_*,
    latest_estimate_*) and each executed promotion against its counterfactual."""

    review: Review
    accounts: pd.DataFrame
    events: pd.DataFrame


def review(scenario: Scenario | PathText, actuals: Sequence[PathText], *, through: int | None = None,
           draws: int = 0, seed: int = 0) -> ReviewResult:
    """Review the scenario's plan against actuals files (sell-in and executed promotions, docs/review.md),
    without a plan store, as `planner review` does with imported actuals.

    >>> from planner import api
    >>> q1 = api.review("scenarios/base.yaml", ["history/actuals-2027-q1-sales.csv",
    ...                                         "history/actuals-2027-q1-promotions.csv"])
    >>> q1.review.through
    13
    >>> q1.accounts[["account", "actual_volume", "plan_volume", "variance_total"]].columns.tolist()
    ['account', 'actual_volume', 'plan_volume', 'variance_total']
    """
    from planner.actuals.read import read_actuals
    from planner.actuals.store import actuals_from_files
    from planner.review.review import review as run_review

    chosen = _scenario(scenario)
    calendar = chosen.rules.calendar
    if calendar is None:
        raise ValueError(f"{chosen.id}: the rules have no calendar")
    files = [read_actuals(Path(path), chosen.rules) for path in actuals]
    result = run_review(chosen.rules, chosen.events, actuals_from_files(calendar.year, files), through,
                        scenario=chosen.id, plan_label=chosen.plan_source, draws=draws, seed=seed)
    document = result.as_json()
    year_to_date = [{key: value for key, value in entry.items() if key != "quarter"} for entry in document["accounts"]]
    accounts = pd.json_normalize(year_to_date, sep="_").rename(columns={"id": "account"})
    return ReviewResult(result, accounts, pd.DataFrame(document["events"]))
