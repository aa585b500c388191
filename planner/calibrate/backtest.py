"""The holdout backtest: fit on the history before the last N weeks, forecast those weeks through the simulator
with their actual prices and promotions, and score the forecast against what sold.

The forecast is the simulator's, not a separate predictor: the held-out weeks become a calendar (`holdout_rules`),
every promoted row an event (one product group per product, a mechanic per combination of the history's flags,
the row's own depth 1 - price / regular price), and the calibrated rules are evaluated by `planner.simulate`'s own
path (compile, place the events, the economics core). `tests/test_calibrate_backtest.py` checks that this equals
the fit's form (`planner.calibrate.fit.expected_cases`) row by row.

Scores (docs/calibration.md): WAPE = sum |actual - forecast| / sum actual and bias = sum (forecast - actual) /
sum actual over the held-out rows, overall, on promoted and unpromoted rows, per category and per account, beside
the same scores of a naive forecast (each series' mean of its last 13 training weeks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.calibrate.fit import Fit
from planner.calibrate.panel import LIFT_KINDS, MAX_RATIO, MIN_RATIO, week_numbers
from planner.calibrate.rules_writer import (
    Calibrated,
    Materiality,
    Provenance,
    calibrated_rules,
    mechanic_flags,
    rule_id,
)
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Calendar, Event, Holiday, Mechanic, ProductGroup, RuleSet
from planner.simulate import promotions_for, simulate

NAIVE_WEEKS = 13
MAX_DEPTH = 0.95
MAX_WEEKS = 53


@dataclass(frozen=True)
class Score:
    """WAPE and bias of a forecast over some rows."""

    wape: float | None
    bias: float | None
    rows: int
    actual: float

    @classmethod
    def of(cls, actual: np.ndarray, forecast: np.ndarray) -> Score:
        total = float(actual.sum())
        if not len(actual) or total <= 0:
            return cls(None, None, len(actual), total)
        return cls(float(np.abs(actual - forecast).sum() / total), float((forecast - actual).sum() / total),
                   len(actual), total)

    def as_dict(self) -> dict[str, Any]:
        return {"wape": self.wape, "bias": self.bias, "rows": self.rows}


@dataclass(frozen=True)
class Backtest:
    """One holdout window's forecast and scores."""

    start: dt.date
    weeks: int
    frame: pd.DataFrame
    """The held-out rows with `forecast` and `naive` columns (rows nothing could forecast are dropped)."""
    overall: Score
    promo: Score
    nonpromo: Score
    naive: Score
    naive_promo: Score
    by_category: dict[str, tuple[Score, Score]]
    """category -> (model, naive)."""
    by_account: dict[str, tuple[Score, Score]]
    unforecast: int
    """Held-out rows of series the fit has no baseline for (no training history), left out of the scores."""
    agreement: float = 0.0
    """Largest relative gap between the per-account volume of `planner.simulate.simulate` and the summed cells."""
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "start": str(self.start), "weeks": self.weeks,
            "wape": self.overall.wape, "wape_promo": self.promo.wape, "wape_nonpromo": self.nonpromo.wape,
            "bias": self.overall.bias, "rows": self.overall.rows, "promo_rows": self.promo.rows,
            "unforecast_rows": self.unforecast,
            "naive": {"wape": self.naive.wape, "wape_promo": self.naive_promo.wape, "bias": self.naive.bias},
            "by_category": {k: {"model": m.as_dict(), "naive": n.as_dict()} for k, (m, n) in self.by_category.items()},
            "by_account": {k: {"model": m.as_dict(), "naive": n.as_dict()} for k, (m, n) in self.by_account.items()},
        }


def combination(row_flags: np.ndarray) -> tuple[str, ...]:
    """The flags (LIFT_KINDS order) a row ran with: a flag counts when above 0."""
    return tuple(kind for kind, on in zip(LIFT_KINDS, row_flags > 0, strict=True) if on)


def history_mechanic(flags: tuple[str, ...]) -> Mechanic:
    """The mechanic of one flag combination: its lift comes from the response profiles (scoped lifts), its depth
    from each event (the row's own), funding 0 (the history does not say who paid)."""
    kind = "feature" if "feature" in flags else "display" if "display" in flags else "price_cut"
    return Mechanic.model_validate({"id": rule_id("history", *flags) if flags else "history-price",
                                    "kind": kind, "depth": 0.0, "funding": 0.0,
                                    "feature": "feature" in flags, "display": "display" in flags})


def holdout_rules(fit: Fit, rules: RuleSet, frame: pd.DataFrame, provenance: Provenance,
                  materiality: Materiality) -> tuple[RuleSet, Calibrated, np.ndarray]:
    """The rules that forecast the rows of `frame`: its weeks as the calendar, its promoted rows as events, the
    calibrated demand rotated onto that calendar, and nothing that the history's prices already hold (discounts,
    price bands, rebates, vividness and policy are left out; the holidays are the fitted ones the rows name, in
    the weeks they name them). Also the calibrated sections and each row's 0-based week."""
    start = pd.Timestamp(frame["week"].min()).date()
    week = week_numbers(frame["week"], start)
    weeks = int(week.max()) + 1
    if weeks > MAX_WEEKS:
        raise ValueError(f"a holdout of {weeks} weeks is longer than a fiscal year ({MAX_WEEKS} weeks at most)")
    holidays = _holidays(fit, frame, week, set(rules.ids("accounts")))
    calendar = Calendar(year=start.year, start=start, weeks=weeks, quarters=(weeks,), holidays=holidays)
    flags = np.stack([frame[k].fillna(0.0).to_numpy(dtype=float) if k in frame else np.zeros(len(frame))
                      for k in LIFT_KINDS], axis=1)
    promoted = frame["promoted"].to_numpy(dtype=bool) if "promoted" in frame else flags.any(axis=1)
    combos = [combination(f) for f in flags]
    used = sorted({combos[i] for i in np.flatnonzero(promoted)})
    mechanics = {c: history_mechanic(c) for c in used}
    lift_flags = {m.id: mechanic_flags(m) for m in rules.mechanics}
    lift_flags.update({m.id: c for c, m in mechanics.items()})
    calibrated = calibrated_rules(fit, rules, start, provenance, flags=lift_flags, materiality=materiality,
                                  holidays=[h.id for h in holidays])
    ratio = _ratio(frame)
    known_products = set(rules.ids("products"))
    products = sorted(set(map(str, frame["product"])) & known_products)
    groups = tuple(ProductGroup.model_validate({"id": rule_id("history", p), "products": {"product": p}})
                   for p in products)
    events = []
    accounts = set(rules.ids("accounts"))
    for i in np.flatnonzero(promoted):
        account, product = str(frame["account"].iat[i]), str(frame["product"].iat[i])
        if account not in accounts or product not in known_products:
            continue
        events.append(Event(id=f"h{i}", account=account, product_group=rule_id("history", product),
                            mechanic=mechanics[combos[i]].id, weeks=(int(week[i]) + 1,),
                            depth=float(np.clip(1.0 - ratio[i], 0.0, MAX_DEPTH))))
    none: tuple[Any, ...] = ()
    forecast_rules = calibrated.rules(
        rules, calendar=calendar, mechanics=(*rules.mechanics, *mechanics.values()),
        product_groups=groups, events=tuple(events), discounts=none, price_bands=none, rebates=none,
        shelf_targets=none, displays=none, coolers=none, calendar_rules=none, budgets=none, margin_floors=none,
        price_floors=none, trade_spend_caps=none)
    return forecast_rules, calibrated, week


def _holidays(fit: Fit, frame: pd.DataFrame, week: np.ndarray, known: set[str]) -> tuple[Holiday, ...]:
    """Each fitted holiday the rows of `frame` name, in the weeks they name it, for the accounts that name it then
    (its uplift, placeholder 1, is the response profiles' fitted one: the rules' calendar is not needed)."""
    if "holiday" not in frame:
        return ()
    named = frame["holiday"].to_numpy(dtype=object)
    out = []
    for holiday in sorted(h for h in fit.holidays if (named == h).any()):
        rows = named == holiday
        accounts = sorted(set(map(str, frame["account"].to_numpy(dtype=object)[rows])) & known)
        if not accounts:
            continue
        out.append(Holiday.model_validate({"id": holiday, "weeks": sorted({int(w) + 1 for w in week[rows]}),
                                           "uplift": 1.0, "applies_to": {"account": accounts}}))
    return tuple(out)


def _ratio(frame: pd.DataFrame) -> np.ndarray:
    """price / regular price per row, as the fit reads it (1 where unknown, clipped like the fit)."""
    price = frame["price"].to_numpy(dtype=float)
    regular = frame["regular_price"].to_numpy(dtype=float) if "regular_price" in frame else price
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = price / regular
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    return np.asarray(np.clip(ratio, MIN_RATIO, MAX_RATIO), dtype=float)


def simulate_rows(rules: RuleSet, frame: pd.DataFrame, week: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's volume as the simulator books it (nan for an account or product the rules lack), and the largest
    relative gap between `simulate`'s per-account totals and the sum of the cells read here."""
    compiled = compile_rules(rules)
    cells = evaluate(compiled, promotions_for(rules, compiled, rules.events))
    index = compiled.index
    a = np.array([index.account_position.get(str(x), -1) for x in frame["account"]], dtype=np.intp)
    p = np.array([index.product_position.get(str(x), -1) for x in frame["product"]], dtype=np.intp)
    known = (a >= 0) & (p >= 0)
    out = np.full(len(frame), np.nan)
    out[known] = cells.volume[a[known], p[known], week[known]]
    result = simulate(rules, ScenarioOptions())
    by_account = cells.volume.sum(axis=(1, 2))
    simulated = np.array([sum(result.account_weeks[x.id]["volume"]) for x in index.accounts])
    gap = np.abs(simulated - by_account) / np.maximum(np.abs(by_account), 1e-9)
    return out, float(gap.max(initial=0.0))


def naive_forecast(training: pd.DataFrame, frame: pd.DataFrame, weeks: int = NAIVE_WEEKS) -> np.ndarray:
    """Each series' mean cases over its last `weeks` training weeks (nan without training rows)."""
    if not len(training):
        return np.full(len(frame), np.nan)
    recent = training.sort_values("week").groupby(["account", "product"], sort=False).tail(weeks)
    means = recent.groupby(["account", "product"])["cases"].mean()
    keys = pd.MultiIndex.from_frame(frame[["account", "product"]])
    return np.asarray(means.reindex(keys).to_numpy(dtype=float), dtype=float)


def run_backtest(fit: Fit, rules: RuleSet, training: pd.DataFrame, holdout: pd.DataFrame, provenance: Provenance,
                 materiality: Materiality | None = None) -> Backtest:
    """Forecast the holdout rows with the calibrated rules through the simulator and score them."""
    frame = holdout.reset_index(drop=True)
    forecast_rules, _, week = holdout_rules(fit, rules, frame, provenance, materiality or Materiality())
    forecast, agreement = simulate_rows(forecast_rules, frame, week)
    naive = naive_forecast(training, frame)
    has_baseline = _has_baseline(fit, frame)
    keep = np.isfinite(forecast) & has_baseline
    scored = frame.loc[keep].assign(forecast=forecast[keep], naive=np.nan_to_num(naive[keep]))
    actual, model, plain = (scored[c].to_numpy(dtype=float) for c in ("cases", "forecast", "naive"))
    promo = scored["promoted"].to_numpy(dtype=bool) if "promoted" in scored else np.zeros(len(scored), bool)

    def grouped(column: str) -> dict[str, tuple[Score, Score]]:
        if column not in scored:
            return {}
        out = {}
        for key, rows in scored.groupby(column, sort=True):
            out[str(key)] = (Score.of(rows["cases"].to_numpy(float), rows["forecast"].to_numpy(float)),
                             Score.of(rows["cases"].to_numpy(float), rows["naive"].to_numpy(float)))
        return out

    start = pd.Timestamp(frame["week"].min()).date()
    return Backtest(start, int(week.max()) + 1, scored, Score.of(actual, model), Score.of(actual[promo], model[promo]),
                    Score.of(actual[~promo], model[~promo]), Score.of(actual, plain),
                    Score.of(actual[promo], plain[promo]), grouped("category"), grouped("account"),
                    int((~keep).sum()), agreement)


def _has_baseline(fit: Fit, frame: pd.DataFrame) -> np.ndarray:
    account = {a: i for i, a in enumerate(fit.accounts)}
    product = {p: i for i, p in enumerate(fit.products)}
    a = np.array([account.get(str(x), -1) for x in frame["account"]])
    p = np.array([product.get(str(x), -1) for x in frame["product"]])
    known = (a >= 0) & (p >= 0)
    out = np.zeros(len(frame), dtype=bool)
    out[known] = np.isfinite(np.asarray(fit.baseline, dtype=float)[a[known], p[known]])
    return out


def worst_series(backtest: Backtest) -> tuple[str, str] | None:
    """The account x product whose forecast misses most cases over the holdout."""
    frame = backtest.frame
    if not len(frame):
        return None
    error = (frame["forecast"] - frame["cases"]).abs().groupby([frame["account"], frame["product"]]).sum()
    account, product = error.idxmax()
    return str(account), str(product)


def plot_worst_series(backtest: Backtest, training: pd.DataFrame, path: Any) -> bool:
    """Actual vs forecast (and the naive forecast) of the worst series, with its last training weeks, as a png.
    False when there is nothing to plot."""
    worst = worst_series(backtest)
    if worst is None:
        return False
    import matplotlib  # a plotting backend only when a plot is asked for

    matplotlib.use("Agg")
    from matplotlib import pyplot

    account, product = worst
    rows = backtest.frame[(backtest.frame["account"] == account) & (backtest.frame["product"] == product)]
    before = training[(training["account"] == account) & (training["product"] == product)].sort_values("week")
    before = before.tail(2 * len(rows) or NAIVE_WEEKS)
    figure, axes = pyplot.subplots(figsize=(10, 4.5))
    axes.plot(before["week"], before["cases"], color="0.6", label="actual (training)")
    axes.plot(rows["week"], rows["cases"], color="black", marker="o", markersize=3, label="actual (held out)")
    axes.plot(rows["week"], rows["forecast"], color="tab:blue", marker="o", markersize=3, label="forecast")
    axes.plot(rows["week"], rows["naive"], color="tab:orange", linestyle="--", label="naive (13-week mean)")
    promoted = rows[rows["promoted"]] if "promoted" in rows else rows.iloc[:0]
    for week in promoted["week"]:
        axes.axvspan(week - pd.Timedelta(days=3), week + pd.Timedelta(days=3), color="tab:green", alpha=0.12)
    score = Score.of(rows["cases"].to_numpy(float), rows["forecast"].to_numpy(float))
    wape = "n/a" if score.wape is None else f"{score.wape:.3f}"
    axes.set_title(f"Worst series: {account} x {product} (WAPE {wape}; shaded: promoted weeks)")
    axes.set_ylabel("cases")
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True
