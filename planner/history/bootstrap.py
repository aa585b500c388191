"""`planner init DIR --from-history FILE`: a first rules repository estimated from a sales history alone.

Every number below is a documented first guess (docs/history.md, "planner init"), written with a comment in the
file it lands in, for a planner to review and for `planner calibrate` to replace:

* **master data**: one channel, region, category and brand per distinct value of the history (ids are the values
  made rule-safe: 'Cold Cereal' -> 'cold-cereal'; 'unassigned' when the history has no such column);
* **products**: list price per case = the median regular shelf price of the last 52 weeks / (1 + 30% retail
  markup) -- or the median invoice price of its non-promoted weeks when the history has one; COGS = 60% of list;
* **accounts**: last_year_volume = cases per observed week in the last 52 weeks x 52 (a missing week is a missing
  observation, not a zero), tier A for the accounts that make the top 20% of that volume, B for the next 30%,
  C for the rest; partner_since = the year the history starts;
* **calendar**: the 52 weeks after the history's last week, in four quarters of 13 weeks, no holidays;
* **seasonality**: per category, 13 four-week periods from non-promoted weeks (each series divided by its own
  mean), flat when the history is shorter than a year;
* **baselines**: per account x category, each product's median non-promoted cases in the last 52 weeks;
* **product groups**: one per product (events are planned on product groups);
* **response**: per category, a price elasticity from one least-squares fit of log volume over baseline on log
  price over regular price, feature and display (no intercept), clipped to [-6, -0.5];
* **mechanics**: feature and display with their measured lifts, and one price cut per 5-point depth that at
  least 2% of the price-promoted weeks ran, funded 50% by the company;
* **calendar rules**: the rhythm the history kept -- per account x product group at most as many promoted weeks a
  year, and as long a promoted run, as 90% of the series stayed within in the last 52 weeks (without them an
  optimizer would promote every week: the mechanics' costs are not in a history).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.history.frame import SERIES, History

RETAIL_MARKUP = 0.30
COGS_SHARE = 0.60
FUNDING = 0.50
TIER_SHARES = (0.20, 0.50)
YEAR_WEEKS = 52
PERIOD_WEEKS = 4
ELASTICITY_RANGE = (-6.0, -0.5)
DEFAULT_ELASTICITY = -2.0
DEPTH_STEP = 0.05
MIN_DEPTH_SHARE = 0.02
UNASSIGNED = "unassigned"
RHYTHM_QUANTILE = 0.9
MAX_ID = 80


@dataclass(frozen=True)
class RuleFile:
    """One file of the repository: its path inside DIR, the comment heading it, and its data."""

    path: str
    comment: str
    data: dict[str, Any]


def slug(text: str) -> str:
    """A rule id from a name: lower case, runs of other characters to '-'."""
    cleaned = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")[:MAX_ID]
    return cleaned or "x"


def rule_id(*parts: str) -> str:
    """Parts joined by '-', kept within the 80 characters of a rule id (a long one ends in a short hash)."""
    joined = "-".join(parts)
    if len(joined) <= MAX_ID:
        return joined
    return f"{joined[:MAX_ID - 9]}-{hashlib.sha256(joined.encode()).hexdigest()[:8]}"


def _ids(values: pd.Series) -> dict[str, str]:
    """Distinct names -> distinct rule ids (a clash after slugging gets a number)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(v for v in values.dropna().unique()):
        base = candidate = slug(str(name))
        number = 2
        while candidate in taken:
            candidate, number = f"{base}-{number}", number + 1
        taken.add(candidate)
        out[str(name)] = candidate
    return out


def _attribute(frame: pd.DataFrame, owner: str, column: str, ids: dict[str, str]) -> dict[str, str]:
    """owner id -> the rule id of its attribute (first value the history gives; 'unassigned' when none)."""
    given = frame[[owner, column]].dropna().drop_duplicates(owner)
    named = {str(o): ids[str(v)] for o, v in zip(given[owner], given[column], strict=True)}
    return {str(o): named.get(str(o), UNASSIGNED) for o in frame[owner].unique()}


def _master(values: dict[str, str], frame: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    items = [{"id": rule_id, "name": name} for name, rule_id in values.items()]
    if frame[column].isna().any() or not items:
        items.append({"id": UNASSIGNED, "name": f"(no {column} in the history)"})
    return items


def rule_files(history: History, *, company: str | None = None, currency: str = "CNY") -> list[RuleFile]:
    """The rule files and the base scenario of a repository bootstrapped from `history`."""
    frame = history.frame
    last = frame["week"].max()
    start = (last + pd.Timedelta(days=7)).date()
    recent = frame.loc[frame["week"] > last - pd.Timedelta(days=7 * YEAR_WEEKS)]
    ids = {column: _ids(frame[column]) for column in ("channel", "region", "category", "brand")}
    category_of = _attribute(frame, "product", "category", ids["category"])
    source = history.source
    master = {
        "company": {"name": company or f"Bootstrapped from {source}", "currency": currency},
        "channels": _master(ids["channel"], frame, "channel"),
        "regions": _master(ids["region"], frame, "region"),
        "calendar": {"year": (start + dt.timedelta(days=182)).year, "start": start, "weeks": YEAR_WEEKS,
                     "quarters": [13, 13, 13, 13], **_holidays(frame, start)},
    }
    products = {
        "categories": _master(ids["category"], frame, "category"),
        "brands": _master(ids["brand"], frame, "brand"),
        "products": _products(frame, recent, category_of, _attribute(frame, "product", "brand", ids["brand"])),
        "product_groups": [{"id": rule_id("pg", p), "products": {"product": p}} for p in history.products],
    }
    accounts = {"accounts": _accounts(frame, recent, _attribute(frame, "account", "channel", ids["channel"]),
                                      _attribute(frame, "account", "region", ids["region"]))}
    seasonality = _seasonality(frame, start, category_of)
    baselines = {"seasonality": [{"id": rule_id("season", c), "weights": w} for c, w in seasonality.items()],
                 "baselines": _baselines(recent, category_of, seasonality)}
    if not baselines["seasonality"]:
        del baselines["seasonality"]
    response, lifts = _response(frame, category_of)
    mechanics = {"mechanics": _mechanics(frame, lifts)}
    calendar_rules = {"calendar_rules": _calendar_rules(recent)}
    head = f"Estimated by `planner init` from {source} (sha256 {history.sha256[:12]}); see docs/history.md."
    return [
        RuleFile("rules/master.yaml", f"{head}\nFiscal year: the {YEAR_WEEKS} weeks after the history's last "
                 f"week ({last:%Y-%m-%d}); add holidays with their uplift. The holidays the history names "
                 "(its `holiday` column) fall a year after their last week in it, uplift 1: move a holiday "
                 "whose date moves to its plan-year weeks, and `planner calibrate` fits the uplift.", master),
        RuleFile("rules/products.yaml", f"{head}\nlist_price = median regular shelf price of the last "
                 f"{YEAR_WEEKS} weeks / (1 + {RETAIL_MARKUP:.0%} retail markup), or the median invoice price of "
                 f"non-promoted weeks when given; cogs = {COGS_SHARE:.0%} of list_price.\nOne product group per "
                 f"product.", products),
        RuleFile("rules/accounts.yaml", f"{head}\nlast_year_volume = cases per observed week of the last "
                 f"{YEAR_WEEKS} weeks x {YEAR_WEEKS}; tier A = accounts making the top {TIER_SHARES[0]:.0%} of "
                 f"that volume, B the next {TIER_SHARES[1] - TIER_SHARES[0]:.0%}, C the rest; partner_since = "
                 f"the year the history starts.", accounts),
        RuleFile("rules/baselines.yaml", f"{head}\nBaseline = median cases of non-promoted weeks in the last "
                 f"{YEAR_WEEKS} weeks; seasonality = 13 four-week periods per category from non-promoted "
                 f"weeks (each series over its own mean).", baselines),
        RuleFile("rules/response.yaml", f"{head}\nElasticity per category: least squares of log(cases / "
                 f"baseline) on log(price / regular price), feature and display, clipped to "
                 f"[{ELASTICITY_RANGE[0]}, {ELASTICITY_RANGE[1]}]; a first guess for `planner calibrate` to "
                 f"replace.", {"response": response}),
        RuleFile("rules/mechanics.yaml", f"{head}\nThe promotions the history ran: feature and display with "
                 f"their measured lift, price cuts at the depths run in at least {MIN_DEPTH_SHARE:.0%} of the "
                 f"price-promoted weeks; funding {FUNDING:.0%} is an assumption.", mechanics),
        RuleFile("rules/calendar_rules.yaml", f"{head}\nThe rhythm the history kept, so that a plan stays "
                 f"within it: per account x product group, at most the promoted weeks a year and the longest "
                 f"promoted run that {RHYTHM_QUANTILE:.0%} of the series stayed within in the last {YEAR_WEEKS} "
                 f"weeks.", calendar_rules),
        RuleFile("scenarios/base.yaml", f"{head}\nThe rules as estimated, deterministic.",
                 {"scenario": {"id": "base", "name": "Base plan from history",
                               "description": f"Rules estimated by planner init from {source}.",
                               "rules": "../rules", "options": {"draws": 0}}}),
    ]


def _holidays(frame: pd.DataFrame, start: dt.date) -> dict[str, Any]:
    """`holidays` of the calendar: each holiday the history names, in the plan-year week a year (52 weeks) after
    the last week that names it, uplift 1 (`planner calibrate` fits it); none without a `holiday` column."""
    named = frame.loc[frame["holiday"].notna(), ["holiday", "week"]] if "holiday" in frame else frame.iloc[:0]
    out = []
    for holiday, last in named.groupby("holiday", sort=True)["week"].max().items():
        week = (pd.Timestamp(last) + pd.Timedelta(weeks=YEAR_WEEKS) - pd.Timestamp(start)).days // 7 + 1
        if 1 <= week <= YEAR_WEEKS:
            out.append({"id": str(holiday), "name": f"{holiday} (from history)", "weeks": [int(week)], "uplift": 1.0})
    return {"holidays": out} if out else {}


def _products(frame: pd.DataFrame, recent: pd.DataFrame, category_of: dict[str, str],
              brand_of: dict[str, str]) -> list[dict[str, Any]]:
    shelf = recent.groupby("product")["regular_price"].median()
    shelf = shelf.combine_first(frame.groupby("product")["regular_price"].median())
    quiet = frame.loc[~frame["promoted"] & frame["invoice_price"].notna()]
    invoice = quiet.groupby("product")["invoice_price"].median()
    out = []
    for product in sorted(frame["product"].unique()):
        price = float(invoice[product]) if product in invoice else float(shelf[product]) / (1 + RETAIL_MARKUP)
        out.append({"id": product, "brand": brand_of[product], "category": category_of[product],
                    "list_price": round(price, 2), "cogs": round(COGS_SHARE * price, 2)})
    return out


def _weekly_volume(rows: pd.DataFrame) -> pd.Series:
    """Cases per observed week x 52, summed over an account's products."""
    per_series = rows.groupby(SERIES)["cases"].mean() * YEAR_WEEKS
    return per_series.groupby(level="account").sum()


def _accounts(frame: pd.DataFrame, recent: pd.DataFrame, channel_of: dict[str, str],
              region_of: dict[str, str]) -> list[dict[str, Any]]:
    volume = _weekly_volume(recent).reindex(sorted(frame["account"].unique()), fill_value=0.0)
    ranked = volume.sort_values(ascending=False, kind="stable")
    share_before = (ranked.cumsum() - ranked) / max(float(ranked.sum()), 1e-9)
    tier = {a: "A" if s < TIER_SHARES[0] else "B" if s < TIER_SHARES[1] else "C" for a, s in share_before.items()}
    first_year = frame.groupby("account")["week"].min().dt.year
    return [{"id": a, "channel": channel_of[a], "tier": tier[a], "region": region_of[a],
             "partner_since": int(first_year[a]), "last_year_volume": round(float(volume[a]))}
            for a in volume.index]


def _seasonality(frame: pd.DataFrame, start: dt.date, category_of: dict[str, str]) -> dict[str, list[float]]:
    """Category -> 13 period weights (mean 1) aligned with the new fiscal year; none when under a year."""
    span = (frame["week"].max() - frame["week"].min()).days // 7 + 1
    if span < YEAR_WEEKS:
        return {}
    quiet = frame.loc[~frame["promoted"], ["account", "product", "week", "cases"]].copy()
    level = quiet.groupby(SERIES)["cases"].transform("mean")
    quiet = quiet.loc[level > 0]
    quiet["ratio"] = quiet["cases"] / level[level > 0]
    weeks = (quiet["week"] - pd.Timestamp(start)).dt.days // 7
    quiet["period"] = (weeks % YEAR_WEEKS) // PERIOD_WEEKS
    quiet["category"] = quiet["product"].map(category_of)
    out: dict[str, list[float]] = {}
    for category, rows in quiet.groupby("category"):
        means = rows.groupby("period")["ratio"].mean().reindex(range(YEAR_WEEKS // PERIOD_WEEKS))
        if means.isna().any() or float(means.mean()) <= 0:
            continue
        weights = (means / means.mean()).clip(0.2, 5.0)
        out[str(category)] = [round(float(w), 3) for w in weights]
    return out


def _baselines(recent: pd.DataFrame, category_of: dict[str, str],
               seasonality: dict[str, list[float]]) -> list[dict[str, Any]]:
    quiet = recent.loc[~recent["promoted"]].groupby(SERIES)["cases"].median()
    every = recent.groupby(SERIES)["cases"].median()
    level = quiet.combine_first(every)
    out = []
    for account, rows in level.groupby(level="account"):
        by_category: dict[str, dict[str, float]] = {}
        for (_, product), cases in rows.items():
            by_category.setdefault(category_of[product], {})[product] = round(float(cases), 2)
        for category, cases_per_week in sorted(by_category.items()):
            item: dict[str, Any] = {"id": rule_id("bl", account, category), "account": account}
            if category in seasonality:
                item["seasonality"] = rule_id("season", category)
            item["cases_per_week"] = dict(sorted(cases_per_week.items()))
            out.append(item)
    return out


def _response(frame: pd.DataFrame, category_of: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Per-category elasticities and pooled feature and display lifts from one least-squares fit per scope:

        log((cases + 0.5) / (baseline + 0.5)) = elasticity * log(price / regular_price)
                                                + log(feature lift) * feature + log(display lift) * display

    with no intercept (a regular week without feature or display sells its baseline, the series' median
    non-promoted cases)."""
    quiet = frame.loc[~frame["promoted"]].groupby(SERIES)["cases"].median()
    base = frame.set_index(SERIES).index.map(quiet).to_numpy(dtype="float64")
    usable = ~np.isnan(base)
    rows = frame.loc[usable]
    y = np.log((rows["cases"].to_numpy() + 0.5) / (base[usable] + 0.5))
    x = np.column_stack([np.log(rows["price"].to_numpy() / rows["regular_price"].to_numpy()),
                         rows["feature"].to_numpy(), rows["display"].to_numpy()])
    categories = rows["product"].map(category_of).to_numpy()
    overall = _fit(x, y)
    profiles: list[dict[str, Any]] = [{"id": "resp-default", "elasticity": overall[0]}]
    for category in sorted(set(categories)):
        here = categories == category
        profiles.append({"id": rule_id("resp", category), "applies_to": {"category": category},
                         "elasticity": _fit(x[here], y[here], overall)[0]})
    lifts = {"feature": overall[1], "display": overall[2]}
    return profiles, lifts


def _fit(x: np.ndarray, y: np.ndarray, fallback: tuple[float, float, float] | None = None,
         ) -> tuple[float, float, float]:
    """(elasticity, feature lift, display lift), clipped to what the rule schema and common sense allow; the
    fallback (or -2, 1, 1) for a column with fewer than 30 informative weeks."""
    default = fallback or (DEFAULT_ELASTICITY, 1.0, 1.0)
    informative = (np.abs(x) > 1e-6).sum(axis=0) >= 30
    if not informative.any():
        return default
    coefficients = np.linalg.lstsq(x[:, informative], y, rcond=None)[0]
    fitted = dict(zip(np.flatnonzero(informative).tolist(), coefficients.tolist(), strict=True))
    elasticity = float(np.clip(fitted[0], *ELASTICITY_RANGE)) if 0 in fitted else default[0]
    feature = float(np.clip(np.exp(fitted[1]), 1.0, 10.0)) if 1 in fitted else default[1]
    display = float(np.clip(np.exp(fitted[2]), 1.0, 10.0)) if 2 in fitted else default[2]
    return round(elasticity, 3), round(feature, 3), round(display, 3)


def _mechanics(frame: pd.DataFrame, lifts: dict[str, float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for flag in ("feature", "display"):
        if (frame[flag] > 0).any():
            out.append({"id": flag, "name": f"{flag.capitalize()} (from history)", "kind": flag,
                        "lift": max(1.0, lifts[flag])})
    cut = frame.loc[frame["promoted"] & (frame["depth"] >= DEPTH_STEP), "depth"]
    steps = (np.round(cut.to_numpy() / DEPTH_STEP) * DEPTH_STEP).clip(DEPTH_STEP, 0.6)
    if len(steps):
        depths, counts = np.unique(np.round(steps, 2), return_counts=True)
        kept = [d for d, n in zip(depths, counts, strict=True) if n >= MIN_DEPTH_SHARE * len(steps)]
        for depth in kept or [float(np.median(steps))]:
            percent = round(float(depth) * 100)
            out.append({"id": f"tpr-{percent}", "name": f"Price cut {percent}% (from history)",
                        "kind": "price_cut", "depth": f"{percent}%", "funding": f"{FUNDING:.0%}"})
    return out


def _calendar_rules(recent: pd.DataFrame) -> list[dict[str, Any]]:
    """Promoted weeks a year and the longest promoted run that RHYTHM_QUANTILE of the series stayed within."""
    rows = recent[[*SERIES, "week", "promoted"]]
    series = rows.groupby(SERIES, sort=False).ngroup().to_numpy()
    counts = np.bincount(series, weights=rows["promoted"].to_numpy(dtype=float)) if len(series) else np.zeros(1)
    promoted = rows.loc[rows["promoted"].to_numpy()]
    longest = np.zeros(len(counts))
    if len(promoted):
        index = ((promoted["week"] - promoted["week"].min()) // pd.Timedelta(days=7)).to_numpy()
        owner = series[rows["promoted"].to_numpy()]
        starts = np.concatenate([[True], (owner[1:] != owner[:-1]) | (index[1:] != index[:-1] + 1)])
        run = np.cumsum(starts) - 1
        lengths = np.bincount(run)
        np.maximum.at(longest, owner[starts], lengths)
    most = max(1, int(np.ceil(np.quantile(counts, RHYTHM_QUANTILE))))
    run_length = max(1, int(np.ceil(np.quantile(longest, RHYTHM_QUANTILE))))
    return [{"id": "cr-history-year-max", "kind": "event_count", "period": "year", "max": most},
            {"id": "cr-history-max-consecutive", "kind": "max_consecutive", "weeks": run_length}]
