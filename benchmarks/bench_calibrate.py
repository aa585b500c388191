"""Calibration accuracy and time: the fit against simple references on a real panel, and parameter recovery.

    python -m benchmarks.bench_calibrate --data ../shared/data/breakfast-at-the-frat [--holdout 26]
                                         [--origins N] [--step 13] [--recovery | --no-recovery]

The data is dunnhumby's "Breakfast at the Frat" converted by benchmarks/frat_to_history.py and read with
planner.history (77 stores = accounts, 55 UPCs = products, 156 weeks). The last `--holdout` weeks are held out
(planner.history.holdout.split_holdout, as the backtest does); every method forecasts them from their actual
prices, features and displays. Columns: WAPE = sum |actual - forecast| / sum actual over held-out rows (all,
promoted, not promoted), bias = sum (forecast - actual) / sum actual (all, promoted), and the fit's wall and CPU
seconds.

References, computed in the same run on the same split:
- baseline only: each store x product's median unpromoted training week, every held-out week;
- log-log FE: one pooled least-squares fit of log cases on log(price / regular price), feature and display with
  a fixed effect per store x product, forecast exp(fitted log);
- LightGBM with lags and sibling promotions (benchmarks/boosted_reference.py): a direct multi-horizon boosted
  model whose lags are measured at the forecast origin, with the actual own and sibling promotions of each week,
  a Poisson objective on the log 13-week level, its number of trees chosen inside the training weeks.

`--origins N` repeats the comparison at N rolling origins, `--step` weeks apart (the holdout ending at the last
week, then `step` weeks earlier, ...), each fit on only the weeks before its holdout. The recovery row fits a
synthetic world of the same size drawn from the engine's form with known parameters (planner.calibrate.synthetic,
negative-binomial noise) and prints the largest error per parameter kind against the tolerances.

`--without-regular-price` drops the panel's base price column before loading, as a history without a
`regular_price` column is read: the loader derives it (docs/history.md, "The regular price").

`--scale` runs benchmarks/bench_calibrate_scale.py instead: synthetic worlds of `--sizes` accounts x
`--products` products x `--weeks` weeks, their fit's wall and CPU time, peak memory and recovery errors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_calibrate_scale import scale_rows
from benchmarks.boosted_reference import boosted
from benchmarks.frat_to_history import DEFAULT_DATA, convert
from planner.calibrate.fit import expected_cases, fit
from planner.calibrate.synthetic import recovery, world
from planner.history.frame import History
from planner.history.holdout import split_holdout
from planner.history.load import load_history

Forecaster = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]
TOLERANCE = {"elasticity": 0.05, "lift": 0.10, "dip": 0.03, "cannibalization": 0.03}


def baseline_only(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    plain = train.loc[~train["promoted"]].groupby(["account", "product"])["cases"].median()
    keys = pd.MultiIndex.from_frame(test[["account", "product"]])
    return np.asarray(plain.reindex(keys).to_numpy(), dtype=float)


def log_log(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Pooled log-log with series fixed effects (the within estimator), feature and display."""
    def design(rows: pd.DataFrame) -> np.ndarray:
        ratio = (rows["price"] / rows["regular_price"]).where(lambda r: np.isfinite(r) & (r > 0), 1.0)
        return np.column_stack([np.log(ratio.clip(0.05, 2.0)), rows["feature"], rows["display"]])

    rows = train.loc[train["cases"] > 0]
    key = rows["account"] + "|" + rows["product"]
    x, y = design(rows), np.log(rows["cases"].to_numpy())
    x_mean = pd.DataFrame(x).groupby(key.to_numpy()).transform("mean").to_numpy()
    y_mean = pd.Series(y).groupby(key.to_numpy()).transform("mean").to_numpy()
    beta, *_ = np.linalg.lstsq(x - x_mean, y - y_mean, rcond=None)
    effect = pd.Series(y - x @ beta).groupby(key.to_numpy()).mean()
    test_key = test["account"] + "|" + test["product"]
    return np.asarray(np.exp(effect.reindex(test_key).to_numpy() + design(test) @ beta), dtype=float)


def ours(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    return expected_cases(fit(train), test)


METHODS: dict[str, Forecaster] = {"baseline only": baseline_only, "log-log FE + feature + display": log_log,
                                  "LightGBM + lags + siblings": boosted, "calibrate (ours)": ours}
PER_CATEGORY = ("LightGBM + lags + siblings", "calibrate (ours)")


def scores(test: pd.DataFrame, forecast: np.ndarray) -> dict[str, float]:
    actual = test["cases"].to_numpy(dtype=float)
    forecast = np.nan_to_num(forecast)  # a series without training rows is forecast 0
    promoted = test["promoted"].to_numpy(dtype=bool)

    def wape(mask: np.ndarray) -> float:
        return float(np.abs(actual[mask] - forecast[mask]).sum() / max(actual[mask].sum(), 1e-9))

    def bias(mask: np.ndarray) -> float:
        return float((forecast[mask] - actual[mask]).sum() / max(actual[mask].sum(), 1e-9))

    return {"WAPE": wape(np.ones(len(actual), dtype=bool)), "WAPE promo": wape(promoted),
            "WAPE non-promo": wape(~promoted), "bias": bias(np.ones(len(actual), dtype=bool)),
            "bias promo": bias(promoted)}


def compare(history: History, holdout: int, label: str) -> list[dict[str, object]]:
    training, held = split_holdout(history, holdout)
    train, test = training.frame, held.frame
    rows: list[dict[str, object]] = []
    for name, method in METHODS.items():
        started, cpu = time.perf_counter(), time.process_time()
        forecast = method(train, test)
        row: dict[str, object] = {"origin": label, "method": name, **scores(test, forecast),
                                  "fit s (wall)": time.perf_counter() - started,
                                  "fit s (CPU)": time.process_time() - cpu}
        rows.append(row)
        if name in PER_CATEGORY:
            short = "ours" if name == "calibrate (ours)" else "LightGBM"
            for category in sorted(test["category"].dropna().unique()):
                mask = (test["category"] == category).to_numpy()
                rows.append({"origin": label, "method": f"  {short}: {category}",
                             **scores(test.loc[mask], forecast[mask])})
    return rows


def recovery_row(seed: int) -> dict[str, object]:
    """A world the size of the Frat panel (77 x 55 x 156, 4 categories), negative-binomial noise."""
    synthetic = world(seed, accounts=77, products=56, categories=4, weeks=156, level=20.0, overdispersion=0.1)
    started, cpu = time.perf_counter(), time.process_time()
    fitted = fit(synthetic.frame)
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    errors = recovery(fitted, synthetic)
    worst = {kind: max(abs(v) for k, v in errors.items() if k.startswith(kind)) for kind in TOLERANCE}
    ok = all(worst[k] <= TOLERANCE[k] for k in TOLERANCE)
    return {"rows": len(synthetic.frame), **{f"max |error| {k}": v for k, v in worst.items()},
            "within tolerances": "yes" if ok else "NO", "fit s (wall)": wall, "fit s (CPU)": cpu_s}


def table(rows: list[dict[str, object]]) -> str:
    columns = list(dict.fromkeys(c for row in rows for c in row))
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [_show(c, row.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _show(column: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:+.1%}" if column.startswith("bias") else f"{value:.3f}" if "WAPE" in column or "error" in column \
            else f"{value:.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--holdout", type=int, default=26)
    parser.add_argument("--origins", type=int, default=1, help="rolling origins (1 = the last holdout only)")
    parser.add_argument("--step", type=int, default=13, help="weeks between rolling origins")
    parser.add_argument("--recovery", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--without-regular-price", action="store_true",
                        help="drop the base price column: the loader derives the regular price")
    parser.add_argument("--scale", action="store_true", help="the scale benchmark on synthetic worlds instead")
    parser.add_argument("--sizes", default="100,300,1000", help="accounts per synthetic world (--scale)")
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=156)
    args = parser.parse_args(argv)
    if args.scale:
        sizes = [int(x) for x in args.sizes.split(",")]
        print("\n## Scale (synthetic worlds)\n")
        print(table(scale_rows(sizes, args.products, args.categories, args.weeks, args.seed)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frat.parquet"
        converted = convert(args.data)
        if args.without_regular_price:
            converted = converted.drop(columns=["regular_price"])
        converted.to_parquet(path, index=False)
        history = load_history(path)
    frame = history.frame
    last = frame["week"].max()
    rows: list[dict[str, object]] = []
    for origin in range(args.origins):
        end = last - np.timedelta64(7 * args.step * origin, "D")
        part = history.with_frame(frame.loc[frame["week"] <= end])
        label = f"holdout ends {pd.Timestamp(end).date()}"
        added = compare(part, args.holdout, label)
        rows += added
        print(table(added), flush=True)
    if args.origins > 1:
        for name in METHODS:
            mine = [r for r in rows if r["method"] == name]
            rows.append({"origin": f"mean of {args.origins}", "method": name,
                         **{k: float(np.mean([float(str(r[k])) for r in mine])) for k in
                            ("WAPE", "WAPE promo", "WAPE non-promo", "bias", "bias promo", "fit s (wall)",
                             "fit s (CPU)")}})
    print("\n## Holdout\n")
    print(table(rows))
    if args.recovery:
        print("\n## Parameter recovery (synthetic world, same size)\n")
        print(table([recovery_row(args.seed)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
