"""A fit written as rules: seasonality, baselines and response profiles (with scoped lifts) that `planner validate`
accepts and `planner simulate` uses, with provenance.

What goes where (docs/calibration.md):

* **seasonality**: one 52-week profile per fitted season profile (a category, or category x channel), rotated so
  that weight 1 belongs to the target calendar's week 1 (`Fit.season_anchor` fixes the fit's week 0);
* **baselines**: one entry per account x season profile, listing that account's products of the profile with the
  fitted cases/week at the regular price (an entry's seasonality applies to the products it lists);
* **response**: a root profile with the whole history's values, one per category (volume-weighted medians of
  the series), then account x product refinements only where the fit differs materially from the category
  (`Materiality`); every profile names the
  lift of each mechanic the history can speak for: the product of the fitted lifts of its flags (feature,
  display, and deal = a price mechanic without feature or display) times the recent promotion factor
  (`Fit.promotion`), replacing the mechanic's own `lift` there.
  The spreads come from the fit's standard errors (`Fit.series_se`), so Monte Carlo draws use them:
  `elasticity_sd`, `post_promo_dip_sd`, `cannibalization_sd`, and `lift_sd` beside `lifts` (the standard error
  of the log lift: the flags' errors of their log lifts added in quadrature). The root and category profiles name
  in `holiday_uplifts` the fitted uplift of each holiday of the history (`Fit.holidays`) that the rules' calendar
  declares, replacing the calendar's `uplift` there (the calendar keeps saying in which weeks it falls), and in
  `holiday_uplift_sd` the standard error of its log, so Monte Carlo draws vary it.

The rule objects are built through the schema models, so a written file is valid by construction; the schema
has no place for metadata, so the provenance (data hash, window, rows, fit statistics, command, version) is a
comment block at the top of the file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

from planner.calibrate.fit import Fit
from planner.calibrate.panel import SEASON_WEEKS, week_numbers
from planner.rules.schema import Baseline, Mechanic, Response, RuleSet, Seasonality
from planner.rules.schema.common import ID_PATTERN, Scope
from planner.rules.schema.promotions import PRICE_KINDS

LIFT_FLAGS = ("feature", "display", "deal")
MAX_LIFT = 10.0
MIN_LIFT = 1e-3
DEFAULT_SD = 0.2
MAX_LIFT_SD = 2.0
MAX_SHARE_SD = 0.5
"""The rule language's bounds of `lift_sd` and of the share spreads (a wider standard error is written at them)."""


@dataclass(frozen=True)
class Materiality:
    """When an account x product gets a profile of its own: its fitted value differs from its category's by more
    than this and by more than its standard error (a difference the data cannot tell from noise is not worth a
    profile). `digits`: decimals written (None: full precision, for exact agreement with the fit)."""

    elasticity: float = 0.1
    lift: float = 0.05
    """Difference of the log of any mechanic's lift (about a relative difference)."""
    share: float = 0.01
    """Absolute difference of the dip or cannibalization share."""
    digits: int | None = 4


EXACT = Materiality(0.0, 0.0, 0.0, None)
"""Every account x product its own profile, unrounded: the rules reproduce the fit's expected cases."""


@dataclass(frozen=True)
class Provenance:
    """Where a calibration came from: written as the file's header comment."""

    source: str
    sha256: str
    window: tuple[str, str]
    rows: int
    command: str = ""
    version: str = ""
    statistics: Mapping[str, Any] = field(default_factory=dict)

    def comment(self) -> str:
        lines = [
            "Calibrated by `planner calibrate` (docs/calibration.md). Generated: edit the history, not this file.",
            f"data: {self.source} sha256 {self.sha256}",
            f"window: {self.window[0]} .. {self.window[1]} ({self.rows} rows)",
        ]
        if self.command:
            lines.append(f"command: {self.command}")
        if self.version:
            lines.append(f"planner version: {self.version}")
        for key, value in self.statistics.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"{key}: {shown}")
        return "".join(f"# {line}\n" for line in lines)


def mechanic_flags(mechanic: Mechanic) -> tuple[str, ...]:
    """The history flags a mechanic stands for: feature, display, and deal for a price mechanic run without
    either (a temporary price reduction alone). A tasting has none: the history cannot speak for its lift."""
    flags = [f for f in ("feature", "display") if getattr(mechanic, f) or mechanic.kind == f]
    if mechanic.kind in PRICE_KINDS and not flags:
        flags.append("deal")
    return tuple(flags)


@dataclass(frozen=True)
class Calibrated:
    """The calibrated sections as rule objects, and the file that holds them."""

    seasonality: tuple[Seasonality, ...]
    baselines: tuple[Baseline, ...]
    response: tuple[Response, ...]
    provenance: Provenance

    def rules(self, base: RuleSet, **changes: Any) -> RuleSet:
        """`base` with its seasonality, baselines and response replaced by the calibrated ones."""
        return base.replace(seasonality=self.seasonality, baselines=self.baselines, response=self.response,
                            **changes)

    def yaml(self) -> str:
        data = {
            "seasonality": [_plain(s) for s in self.seasonality],
            "baselines": [_plain(b) for b in self.baselines],
            "response": [_plain(r) for r in self.response],
        }
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
        return self.provenance.comment() + "#\n# Replaces the rules' seasonality, baselines and response sections.\n" + body


def _plain(item: Response | Baseline | Seasonality) -> dict[str, Any]:
    data: dict[str, Any] = item.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(item, Response):  # id first, then scope (one id, not a list of one), then values
        written = data.pop("applies_to", {})
        scope = {k: written[k][0] if isinstance(written[k], list) and len(written[k]) == 1 else written[k]
                 for k in Scope.ACCOUNT_KEYS + Scope.PRODUCT_KEYS if written.get(k) is not None}
        data = {"id": data.pop("id"), **({"applies_to": scope} if scope else {}), "elasticity": item.elasticity, **data}
    return data


def rule_id(*parts: str) -> str:
    """An id from free text: characters outside the id alphabet become '-', at most 80 characters."""
    text = "-".join(re.sub(r"[^A-Za-z0-9_-]+", "-", part).strip("-") for part in parts)
    text = text or "x"
    if not re.match(ID_PATTERN, text):
        text = f"x{text}"
    return text[:80]


def rotated_season(fit: Fit, profile: str, start: dt.date) -> tuple[float, ...]:
    """52 weights of a fitted profile, weight 1 for the week that starts on `start`."""
    weights = np.asarray(fit.season[profile], dtype=float)
    offset = int(week_numbers(pd.Series([pd.Timestamp(start)]), fit.season_anchor)[0])
    return tuple(float(w) for w in weights[(offset + np.arange(SEASON_WEEKS)) % SEASON_WEEKS])


def calibrated_rules(fit: Fit, rules: RuleSet, start: dt.date, provenance: Provenance, *,
                     flags: Mapping[str, tuple[str, ...]] | None = None, materiality: Materiality = Materiality(),
                     noise: Mapping[str, float] | None = None, holidays: Collection[str] | None = None) -> Calibrated:
    """The fit as rule objects for a calendar starting `start`. `flags`: mechanic id -> the history flags it
    stands for, the mechanics that get scoped lifts (by default the rules' own, by `mechanic_flags`). `noise`:
    baseline noise (coefficient of variation) per category id ("all": the whole), when measured. `holidays`:
    the fitted holidays to write (by default those the rules' calendar declares; `unwritten_holidays` lists the
    others)."""
    if flags is None:
        flags = {m.id: mechanic_flags(m) for m in rules.mechanics}
    if holidays is None:
        holidays = [h for h in fit.holidays if h not in unwritten_holidays(fit, rules)]
    writer = _Writer(fit, rules, materiality, flags, noise or {}, holidays)
    return Calibrated(writer.seasonality(start), writer.baselines(), writer.response(), provenance)


def unwritten_holidays(fit: Fit, rules: RuleSet) -> list[str]:
    """The fitted holidays the rules' calendar does not declare: a response profile cannot name them."""
    declared = {h.id for h in rules.calendar.holidays} if rules.calendar else set()
    return sorted(h for h in fit.holidays if h not in declared)


def _log_se(se: np.ndarray | None, value: np.ndarray) -> np.ndarray:
    """Standard error of the log of a fitted multiplier from that of the multiplier itself (0 where unknown), at
    most the rule language's bound."""
    if se is None:
        return np.zeros(value.shape)
    log_se = np.divide(np.nan_to_num(np.asarray(se, dtype=float)), value, out=np.zeros(value.shape), where=value > 0)
    return np.asarray(np.clip(log_se, 0.0, MAX_LIFT_SD), dtype=float)


class _Writer:
    def __init__(self, fit: Fit, rules: RuleSet, materiality: Materiality, flags: Mapping[str, tuple[str, ...]],
                 noise: Mapping[str, float], holidays: Collection[str]) -> None:
        self.fit, self.materiality, self.noise = fit, materiality, noise
        self.holidays = {h: np.asarray(fit.holidays[h], dtype=float) for h in sorted(holidays) if h in fit.holidays}
        self.holiday_log_se = {h: _log_se(fit.series_se.get(f"holiday.{h}"), uplift)
                               for h, uplift in self.holidays.items()}
        products = rules.ids("products")
        accounts = set(rules.ids("accounts"))
        self.category = np.array([products[p].category if p in products else "" for p in fit.products], dtype=object)
        baseline = np.asarray(fit.baseline, dtype=float)
        known_account = np.array([a in accounts for a in fit.accounts], dtype=bool)
        self.live = np.isfinite(baseline) & known_account[:, None] & (self.category != "")[None, :]
        self.weight = np.where(self.live, np.nan_to_num(baseline), 0.0)
        self.lifts = {m: self._lift(kinds) for m, kinds in flags.items() if kinds}
        self.elasticity = np.nan_to_num(np.asarray(fit.elasticity, dtype=float))
        self.elasticity_sd = np.nan_to_num(np.asarray(fit.series_se.get("elasticity", np.full(baseline.shape, DEFAULT_SD)),
                                                      dtype=float), nan=DEFAULT_SD)
        self.se = {k: np.nan_to_num(np.asarray(v, dtype=float)) for k, v in fit.series_se.items()}
        self.lift_se = {m: self._lift_se(kinds) for m, kinds in flags.items() if kinds}
        self.lift_log_se = {m: self._lift_log_se(kinds) for m, kinds in flags.items() if kinds}
        self.dip_se = np.clip(self.se.get("dip", np.zeros(baseline.shape)), 0.0, MAX_SHARE_SD)
        self.cannibalization_se = np.clip(self.se.get("cannibalization", np.zeros(baseline.shape)), 0.0, MAX_SHARE_SD)
        self.dip = np.clip(np.nan_to_num(np.asarray(fit.dip, dtype=float)), 0.0, 1.0)
        self.cannibalization = np.clip(np.nan_to_num(np.asarray(fit.cannibalization, dtype=float)), 0.0, 1.0)

    def _lift(self, flags: tuple[str, ...]) -> np.ndarray:
        """The product of the flags' fitted lifts, times the recent promotion factor (`Fit.promotion`)."""
        lift = np.ones(self.weight.shape)
        if self.fit.promotion is not None:
            lift = lift * np.nan_to_num(np.asarray(self.fit.promotion, dtype=float), nan=1.0)
        for flag in flags:
            if flag in self.fit.lifts:
                lift = lift * np.nan_to_num(np.asarray(self.fit.lifts[flag], dtype=float), nan=1.0)
        return np.asarray(np.clip(lift, MIN_LIFT, MAX_LIFT), dtype=float)

    def _lift_se(self, flags: tuple[str, ...]) -> np.ndarray:
        """The error materiality compares a lift's log difference with: its flags' errors of the lift itself
        (`Fit.series_se`) added in quadrature, so about the lift times the error of its log (wider than the log's
        own error, `_lift_log_se`; kept so as not to move the written profiles, docs/calibration.md, Limits)."""
        total = np.zeros(self.weight.shape)
        for flag in flags:
            total = total + self.se.get(f"lift.{flag}", np.zeros(self.weight.shape)) ** 2
        return np.asarray(np.sqrt(total), dtype=float)

    def _lift_log_se(self, flags: tuple[str, ...]) -> np.ndarray:
        """Standard error of a mechanic's log lift (its `lift_sd`): its flags' errors of their log lifts added in
        quadrature (`Fit.series_se` holds the error of the lift itself, the lift times that of its log)."""
        total = np.zeros(self.weight.shape)
        for flag in flags:
            if flag in self.fit.lifts and f"lift.{flag}" in self.se:
                lift = np.nan_to_num(np.asarray(self.fit.lifts[flag], dtype=float), nan=1.0)
                total = total + np.divide(self.se[f"lift.{flag}"], lift, out=np.zeros_like(total), where=lift > 0) ** 2
        return np.asarray(np.clip(np.sqrt(total), 0.0, MAX_LIFT_SD), dtype=float)

    def _round(self, value: float) -> float:
        digits = self.materiality.digits
        return float(value) if digits is None else round(float(value), digits)

    def seasonality(self, start: dt.date) -> tuple[Seasonality, ...]:
        used = sorted({str(p) for p in np.asarray(self.fit.season_of)[self.live] if isinstance(p, str)
                       and p in self.fit.season})
        return tuple(Seasonality(id=rule_id("season", p), weights=tuple(
            max(self._round(w), 1e-6) for w in rotated_season(self.fit, p, start))) for p in used)

    def baselines(self) -> tuple[Baseline, ...]:
        season_of = np.asarray(self.fit.season_of)
        entries: dict[tuple[str, str | None], dict[str, float]] = {}
        for a, p in zip(*np.nonzero(self.live), strict=True):
            profile = season_of[a, p]
            key = (self.fit.accounts[a], profile if isinstance(profile, str) and profile in self.fit.season else None)
            entries.setdefault(key, {})[self.fit.products[p]] = max(self._round(self.weight[a, p]), 0.0)
        return tuple(Baseline(id=rule_id("bl", account, profile or "flat"), account=account,
                              seasonality=rule_id("season", profile) if profile else None, cases_per_week=cases)
                     for (account, profile), cases in entries.items())

    def _pooled(self, cells: np.ndarray) -> dict[str, Any]:
        """Volume-weighted medians over cells (a boolean (A, P) mask): one series far from the others does not
        move the pooled value, so it alone gets a profile of its own."""
        weight = np.where(cells, self.weight, 0.0)[cells]
        if weight.sum() <= 0:
            weight = np.ones(int(cells.sum()))

        def median(values: np.ndarray) -> float:
            chosen = values[cells]
            if not len(chosen):
                return 0.0
            order = np.argsort(chosen, kind="stable")
            cumulative = np.cumsum(weight[order])
            return float(chosen[order][np.searchsorted(cumulative, cumulative[-1] / 2)])

        return {"elasticity": median(self.elasticity), "elasticity_sd": median(self.elasticity_sd),
                "post_promo_dip": median(self.dip), "cannibalization": median(self.cannibalization),
                "post_promo_dip_sd": median(self.dip_se), "cannibalization_sd": median(self.cannibalization_se),
                "lifts": {m: median(v) for m, v in self.lifts.items()},
                "lift_sd": {m: median(v) for m, v in self.lift_log_se.items()},
                "holiday_uplifts": {h: median(v) for h, v in self.holidays.items()},
                "holiday_uplift_sd": {h: median(v) for h, v in self.holiday_log_se.items()}}

    def _profile(self, profile_id: str, scope: dict[str, str], values: dict[str, Any], noise: float | None,
                 lifts: dict[str, float], lift_sd: dict[str, float]) -> Response:
        """A profile; `lift_sd` holds the spread of each mechanic in `lifts`."""
        fields: dict[str, Any] = {
            "id": profile_id, "applies_to": scope,
            "elasticity": min(self._round(values["elasticity"]), 0.0),
            "post_promo_dip": self._round(values["post_promo_dip"]), "dip_weeks": self.fit.dip_weeks,
            "cannibalization": self._round(values["cannibalization"]),
            "elasticity_sd": self._round(max(values["elasticity_sd"], 0.0)),
            "post_promo_dip_sd": self._round(values["post_promo_dip_sd"]),
            "cannibalization_sd": self._round(values["cannibalization_sd"]),
            "lifts": {m: self._round(v) for m, v in lifts.items()},
            "lift_sd": {m: self._round(lift_sd[m]) for m in lifts},
        }
        if noise is not None:
            fields["baseline_noise"] = self._round(min(max(noise, 0.0), 1.0))
        if "holiday_uplifts" in values:  # the root and category profiles: a holiday's uplift is fitted per category
            fields["holiday_uplifts"] = {h: self._round(min(max(v, MIN_LIFT), MAX_LIFT))
                                         for h, v in values["holiday_uplifts"].items()}
            fields["holiday_uplift_sd"] = {h: self._round(v) for h, v in values["holiday_uplift_sd"].items()}
        return Response.model_validate(fields)

    def response(self) -> tuple[Response, ...]:
        whole = self._pooled(self.live)
        out = [self._profile("cal-all", {}, whole, self.noise.get("all"), whole["lifts"], whole["lift_sd"])]
        for category in sorted({c for c in self.category[self.live.any(axis=0)]}):
            in_category = self.live & (self.category == category)[None, :]
            pooled = self._pooled(in_category)
            out.append(self._profile(rule_id("cal", category), {"category": category}, pooled,
                                     self.noise.get(category), pooled["lifts"], pooled["lift_sd"]))
            out.extend(self._refinements(in_category, pooled, category))
        return tuple(out)

    def _refinements(self, cells: np.ndarray, pooled: dict[str, Any], category: str) -> list[Response]:
        out = []
        m = self.materiality
        exact = m.elasticity == 0 and m.lift == 0 and m.share == 0
        for a, p in zip(*np.nonzero(cells), strict=True):
            values = {"elasticity": self.elasticity[a, p], "elasticity_sd": self.elasticity_sd[a, p],
                      "post_promo_dip": self.dip[a, p], "cannibalization": self.cannibalization[a, p],
                      "post_promo_dip_sd": self.dip_se[a, p], "cannibalization_sd": self.cannibalization_se[a, p]}
            lifts = {k: float(v[a, p]) for k, v in self.lifts.items()
                     if exact or abs(np.log(v[a, p] / pooled["lifts"][k])) > max(m.lift, self.lift_se[k][a, p])}
            elasticity_se = self.se["elasticity"][a, p] if "elasticity" in self.se else 0.0
            differs = (abs(values["elasticity"] - pooled["elasticity"]) > max(m.elasticity, elasticity_se)
                       or abs(values["post_promo_dip"] - pooled["post_promo_dip"]) > m.share
                       or abs(values["cannibalization"] - pooled["cannibalization"]) > m.share)
            if not (exact or differs or lifts):
                continue
            account, product = self.fit.accounts[a], self.fit.products[p]
            out.append(self._profile(rule_id("cal", account, product), {"account": account, "product": product},
                                     values, self.noise.get(category), lifts,
                                     {k: float(v[a, p]) for k, v in self.lift_log_se.items()}))
        return out
