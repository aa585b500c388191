"""The boosted reference of bench_calibrate: LightGBM with lags and sibling promotions, forecasting a holdout.

A direct multi-horizon model, honest about what is known at the forecast origin: a held-out week h weeks after
the last training week sees the series' sales only up to that week (its lags are measured at the origin, never
inside the holdout), and sees its own and its siblings' actual prices, features, displays and deals (the
calendar a planner gives). Training rows mimic that: each training week t is drawn with a random horizon h
uniform in 1 .. holdout, and its lag features are measured at t - h.

Features of a row (series = account x product, week t, reference week r = t - h):
- recent sales: the series' mean cases over the 4, 13 and 52 weeks up to r, its mean unpromoted cases over the
  13 weeks up to r, the cases of week t - 52 and whether that week was promoted, the horizon h;
- own promotion: log(price / regular price), feature, display, deal, promoted, log regular price;
- siblings (the account's other products of the category, same week): how many are promoted, the share with a
  feature, with a display, their mean log price ratio, and the same counts among the product's own brand;
- calendar and identity: week of the year, account, product, category and brand as categorical features.

Objective Poisson (a mean forecast, as the P&L needs, not a median) with the log 13-week level as offset
(init_score), so the trees learn the ratio to the series' level. The number of trees is chosen by early stopping
on the last `holdout` training weeks forecast from their own origin, then the model is refitted on every
training week with that number: nothing looks at the held-out rows.
"""

from __future__ import annotations

import os
import time
from typing import ClassVar

import numpy as np
import pandas as pd

SIBLING_KEYS = ("account", "category")
PARAMETERS: dict[str, object] = {
    "objective": "poisson", "learning_rate": 0.1, "num_leaves": 63, "min_data_in_leaf": 200,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "num_threads": 1, "verbose": -1, "seed": 7,  # one thread: OpenMP spinning on a shared machine costs more
}
MAX_ROUNDS = 1000
VERBOSE = bool(os.environ.get("BOOSTED_VERBOSE"))
COPIES = 1


def boosted(train: pd.DataFrame, test: pd.DataFrame, *, horizon: int = 26, seed: int = 7) -> np.ndarray:
    """LightGBM's forecast of each row of `test` from `train` (both canonical history frames)."""
    import lightgbm  # a dev dependency: only this benchmark uses it

    rows = _rows(train, test)
    origin = int(rows.loc[~rows["held"], "t"].max())
    rng = np.random.default_rng(seed)
    inner = origin - horizon  # the validation origin inside the training weeks

    def draw(mask: np.ndarray, last: int | None) -> tuple[pd.DataFrame, np.ndarray]:
        """Training copies of the rows in `mask`, each with a random horizon (or measured from `last`)."""
        picked = rows.loc[mask]
        if last is not None:
            return picked, (picked["t"] - last).to_numpy()
        copies = pd.concat([picked] * COPIES, ignore_index=True)
        return copies, rng.integers(1, horizon + 1, len(copies))

    features = _Features(rows)
    early_train, early_h = draw((~rows["held"] & (rows["t"] <= inner)).to_numpy(), None)
    valid, valid_h = draw((~rows["held"] & (rows["t"] > inner)).to_numpy(), inner)
    x, offset, keep = features.of(early_train, early_h)
    xv, offset_v, keep_v = features.of(valid, valid_h)
    data = lightgbm.Dataset(x[keep], early_train["cases"].to_numpy()[keep], init_score=offset[keep],
                            categorical_feature=features.categorical, free_raw_data=False)
    check = lightgbm.Dataset(xv[keep_v], valid["cases"].to_numpy()[keep_v], init_score=offset_v[keep_v],
                             reference=data)
    model = lightgbm.train(PARAMETERS, data, MAX_ROUNDS, valid_sets=[check],
                           callbacks=[lightgbm.early_stopping(30, verbose=False)])
    if VERBOSE:
        print(f"boosted: {model.best_iteration} trees, {time.process_time():.0f} s CPU", flush=True)
    rounds = max(int(model.best_iteration or MAX_ROUNDS), 50)
    full, full_h = draw((~rows["held"]).to_numpy(), None)
    x, offset, keep = features.of(full, full_h)
    data = lightgbm.Dataset(x[keep], full["cases"].to_numpy()[keep], init_score=offset[keep],
                            categorical_feature=features.categorical)
    model = lightgbm.train(PARAMETERS, data, rounds)
    held = rows.loc[rows["held"]]
    xt, offset_t, keep_t = features.of(held, (held["t"] - origin).to_numpy())
    forecast = np.full(len(held), np.nan)
    forecast[keep_t] = np.exp(np.asarray(model.predict(xt[keep_t], raw_score=True)) + offset_t[keep_t])
    out = np.full(len(test), np.nan)
    out[held["position"].to_numpy()] = forecast
    return out


def _rows(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Training and held-out rows together, with the series index s, the week index t and the price ratio."""
    both = pd.concat([train.assign(held=False, position=-1),
                      test.assign(held=True, position=np.arange(len(test)))], ignore_index=True)
    both["cases"] = both["cases"].where(~both["held"], np.nan)
    first = pd.Timestamp(both["week"].min())
    both["t"] = ((pd.to_datetime(both["week"]) - first).dt.days.to_numpy() + 3) // 7
    both["row"] = np.arange(len(both))
    both["s"] = both.groupby(["account", "product"], sort=True).ngroup()
    regular = both["regular_price"] if "regular_price" in both else both["price"]
    ratio = (both["price"] / regular).where(lambda r: np.isfinite(r) & (r > 0), 1.0).clip(0.05, 2.0)
    both["log_ratio"] = np.log(ratio)
    both["log_regular"] = np.log(regular.where(regular > 0).fillna(both["price"]).clip(lower=1e-3))
    for column in ("feature", "display", "deal"):
        both[column] = both[column].fillna(0.0).astype(float) if column in both else 0.0
    both["promoted"] = both["promoted"].fillna(False).astype(bool) if "promoted" in both else (
        both[["feature", "display", "deal"]].sum(axis=1) > 0) | (both["log_ratio"] < np.log(0.95))
    for column in ("category", "brand"):
        both[column] = both[column].fillna("?").astype(str) if column in both else "?"
    return both


class _Features:
    """Lag features from dense series x week cumulative sums; sibling features from group sums."""

    categorical: ClassVar[list[str]] = ["account", "product", "category", "brand"]

    def __init__(self, rows: pd.DataFrame) -> None:
        series, weeks = int(rows["s"].max()) + 1, int(rows["t"].max()) + 1
        known = (~rows["held"]).to_numpy()
        s, t = rows["s"].to_numpy(), rows["t"].to_numpy()
        cases = np.zeros((series, weeks))
        seen = np.zeros((series, weeks))
        plain = np.zeros((series, weeks))
        plain_seen = np.zeros((series, weeks))
        promoted = np.zeros((series, weeks))
        y = rows["cases"].to_numpy(dtype=float)
        cases[s[known], t[known]] = y[known]
        seen[s[known], t[known]] = 1.0
        unpromoted = known & ~rows["promoted"].to_numpy()
        plain[s[unpromoted], t[unpromoted]] = y[unpromoted]
        plain_seen[s[unpromoted], t[unpromoted]] = 1.0
        promoted[s, t] = rows["promoted"].to_numpy(dtype=float)

        def cumulative(a: np.ndarray) -> np.ndarray:
            return np.concatenate([np.zeros((series, 1)), np.cumsum(a, axis=1)], axis=1)

        self.sums = {"all": (cumulative(cases), cumulative(seen)), "plain": (cumulative(plain), cumulative(plain_seen))}
        self.cases, self.seen, self.promoted = cases, seen, promoted
        self.codes = {c: pd.Categorical(rows[c]).categories for c in self.categorical}
        self.siblings = _siblings(rows)

    def _mean(self, kind: str, s: np.ndarray, r: np.ndarray, span: int) -> np.ndarray:
        total, count = self.sums[kind]
        hi, lo = r + 1, np.maximum(r + 1 - span, 0)
        n = count[s, hi] - count[s, lo]
        return np.asarray(np.divide(total[s, hi] - total[s, lo], n, out=np.full(len(s), np.nan), where=n > 0))

    def of(self, rows: pd.DataFrame, h: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(features, log-level offset, usable) of `rows` seen from reference weeks t - h."""
        s, t = rows["s"].to_numpy(), rows["t"].to_numpy()
        r = t - h
        ok = r >= 0
        r = np.maximum(r, 0)
        level13 = self._mean("all", s, r, 13)
        x = pd.DataFrame({
            "level4": self._mean("all", s, r, 4), "level13": level13, "level52": self._mean("all", s, r, 52),
            "plain13": self._mean("plain", s, r, 13), "horizon": h.astype(float),
        })
        back = t - 52
        has = back >= 0
        x["lag52"] = np.where(has, np.where(self.seen[s, np.maximum(back, 0)] > 0,
                                            self.cases[s, np.maximum(back, 0)], np.nan), np.nan)
        x["lag52_promoted"] = np.where(has, self.promoted[s, np.maximum(back, 0)], np.nan)
        for column in ("log_ratio", "feature", "display", "deal", "log_regular"):
            x[column] = rows[column].to_numpy(dtype=float)
        x["promoted"] = rows["promoted"].to_numpy(dtype=float)
        x["week_of_year"] = (pd.to_datetime(rows["week"]).dt.isocalendar().week.to_numpy(dtype=float))
        for name, values in self.siblings.items():
            x[name] = values[rows["row"].to_numpy()]
        for column in self.categorical:
            x[column] = pd.Categorical(rows[column].to_numpy(), categories=self.codes[column])
        ok &= np.isfinite(level13) & (level13 > 0)
        offset = np.log(np.where(ok, level13, 1.0))
        return x, offset, ok


def _siblings(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row (indexed like `rows`): the promotions of the other products of its account and category that week,
    and of its own brand among them."""
    out: dict[str, np.ndarray] = {}
    values = pd.DataFrame({"promoted": rows["promoted"].astype(float), "feature": rows["feature"],
                           "display": rows["display"], "log_ratio": rows["log_ratio"], "one": 1.0})
    for scope, keys in (("sib", [*SIBLING_KEYS, "t"]), ("brand_sib", [*SIBLING_KEYS, "brand", "t"])):
        total = values.groupby([rows[k] for k in keys]).transform("sum")
        others = (total - values)
        count = others["one"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{scope}_promoted"] = others["promoted"].to_numpy()
            out[f"{scope}_feature_share"] = others["feature"].to_numpy() / count
            out[f"{scope}_display_share"] = others["display"].to_numpy() / count
            out[f"{scope}_log_ratio"] = others["log_ratio"].to_numpy() / count
    return out
