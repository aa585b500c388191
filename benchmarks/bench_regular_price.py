"""How well the loader's derived regular price agrees with a panel's own, on Breakfast at the Frat.

    python -m benchmarks.bench_regular_price --data ../shared/data/breakfast-at-the-frat

The panel's `base_price` is the retailer's regular price. Every row is given the regular price a history
without that column would get (planner.history.derive.rolling_regular: the upper quartile of the series' prices
over the 13 weeks centred on the week) and, for reference, the highest price of the same window (the rule before
it); each is scored against `base_price`: the mean log error, the share of rows within 2 %, the share of rows
5 %+ under it (the price half of the promoted-week rule), and how often that call agrees with `base_price`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter1d

from benchmarks.frat_to_history import DEFAULT_DATA, convert
from planner.history.derive import WINDOW_WEEKS, rolling_regular
from planner.history.frame import PROMOTED_BELOW_REGULAR, SERIES


def highest(frame: pd.DataFrame) -> np.ndarray:
    """The rule before: the highest price of the series within +-6 weeks."""
    weeks = frame["week"].to_numpy()
    index = ((weeks - weeks.min()) // np.timedelta64(7, "D")).astype(np.int64)
    series = frame.groupby(SERIES, sort=False).ngroup().to_numpy()
    grid = np.full((int(series.max()) + 1, int(index.max()) + 1), -np.inf)
    grid[series, index] = frame["price"].to_numpy(dtype=float)
    high = maximum_filter1d(grid, size=WINDOW_WEEKS, axis=1, mode="constant", cval=-np.inf)
    return np.asarray(high[series, index], dtype=float)


def rows(frame: pd.DataFrame) -> list[str]:
    given = frame["regular_price"].to_numpy(dtype=float)
    price = frame["price"].to_numpy(dtype=float)
    known = np.isfinite(given)
    cut = 1.0 - PROMOTED_BELOW_REGULAR

    def under(regular: np.ndarray) -> np.ndarray:
        return np.asarray(price[known] <= cut * regular[known] + 1e-9)

    out = [f"| `base_price` itself | | | {under(given).mean():.1%} | |"]
    for name, regular in (("highest of 13 weeks", highest(frame)), ("upper quartile of 13 weeks", rolling_regular(frame))):
        error = np.log(regular[known] / given[known])
        out.append(f"| {name} | {error.mean():+.2%} | {np.mean(np.abs(error) < 0.02):.1%} | {under(regular).mean():.1%} "
                   f"| {np.mean(under(given) == under(regular)):.1%} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    frame = convert(args.data)
    frame["week"] = pd.to_datetime(frame["week"])
    frame = frame.sort_values(list(SERIES) + ["week"], kind="stable").reset_index(drop=True)
    print(f"{int(frame['regular_price'].notna().sum())} rows with a base price\n")
    print("| rule | mean log error | within 2 % | rows 5 %+ under it | same call as `base_price` |")
    print("|---|---|---|---|---|")
    print("\n".join(rows(frame)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
