"""Convert dunnhumby's "Breakfast at the Frat" source files into a planner history file (docs/history.md).

    python -m benchmarks.frat_to_history --data ../shared/data/breakfast-at-the-frat --out frat.parquet [--load]
    planner init frat-demo --from-history frat.parquet --currency USD

`--load` then times `planner.history.load_history` on the file written (wall and CPU, best of three).

The data stays where it is (dunnhumby's terms of use apply); this script only shows the mapping:

| history column | from | note |
|---|---|---|
| week | transaction.week_end_date - 6 days | the Thursday that starts the dunnhumby week (it ends on a Wednesday) |
| account | "store-" + store_id | a store is an account |
| product | "upc-" + upc_id | a UPC is a product |
| cases | units | consumer units: the demo treats one unit as one case (a case of one) |
| price | price | shelf price paid per unit |
| regular_price | base_price | left empty where missing (185 rows): the loader fills it by its rule (the rolling upper quartile) |
| feature, display | feature, display | 0/1 |
| deal | tpr_only | a temporary price reduction with neither feature nor display |
| category | product.category | e.g. COLD CEREAL |
| brand | product.manufacturer | the source has no brand column; the manufacturer stands in |
| channel | store.seg_value_name | UPSCALE, MAINSTREAM, VALUE |
| region | store.address_state_prov_code | TX, OH, KY, IN |

Rows without a positive shelf price (23 empty, 1 zero; all with zero spend) are dropped: a missing row is a
missing observation. A non-positive base price would be left empty like a missing one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "breakfast-at-the-frat"


def convert(data: Path) -> pd.DataFrame:
    """The history table of the Breakfast at the Frat files in `data`."""
    sales = pd.read_csv(data / "transaction.csv.gz")
    products = pd.read_csv(data / "product.csv").drop_duplicates("upc_id")
    stores = pd.read_csv(data / "store.csv").drop_duplicates("store_id")
    sales = sales.loc[sales["price"].notna() & (sales["price"] > 0)]
    sales = sales.merge(products[["upc_id", "category", "manufacturer"]], on="upc_id", how="left")
    sales = sales.merge(stores[["store_id", "seg_value_name", "address_state_prov_code"]], on="store_id", how="left")
    regular = sales["base_price"].where(sales["base_price"] > 0)
    history = pd.DataFrame({
        "week": (pd.to_datetime(sales["week_end_date"]) - pd.Timedelta(days=6)).dt.strftime("%Y-%m-%d"),
        "account": "store-" + sales["store_id"].astype("int64").astype(str),
        "product": "upc-" + sales["upc_id"].astype("int64").astype(str),
        "cases": sales["units"].astype("float64"),
        "price": sales["price"].astype("float64"),
        "regular_price": regular.astype("float64"),
        "feature": sales["feature"].astype("float64"),
        "display": sales["display"].astype("float64"),
        "deal": sales["tpr_only"].astype("float64"),
        "category": sales["category"].str.title(),
        "brand": sales["manufacturer"].str.title(),
        "channel": sales["seg_value_name"].str.lower(),
        "region": sales["address_state_prov_code"],
    })
    return history.sort_values(["account", "product", "week"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with transaction.csv.gz, "
                        "product.csv and store.csv")
    parser.add_argument("--out", type=Path, required=True, help="history file to write: .parquet or .csv")
    parser.add_argument("--load", action="store_true", help="then time loading it with planner.history")
    args = parser.parse_args(argv)
    if not (args.data / "transaction.csv.gz").is_file():
        print(f"no transaction.csv.gz in {args.data}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    history = convert(args.data)
    if args.out.suffix == ".parquet":
        history.to_parquet(args.out, index=False)
    elif args.out.suffix == ".csv":
        history.to_csv(args.out, index=False)
    else:
        print("--out must end in .parquet or .csv", file=sys.stderr)
        return 2
    print(f"{len(history):,} rows, {history['account'].nunique()} accounts, {history['product'].nunique()} products, "
          f"{history['week'].nunique()} weeks -> {args.out} ({time.perf_counter() - started:.1f} s)")
    if args.load:
        time_load(args.out)
    return 0


def time_load(path: Path, repeat: int = 3) -> None:
    """Print the best wall and CPU time of loading the history file (checks and derivations included)."""
    from planner.history import load_history

    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        loaded = load_history(path)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    print(f"load_history({path.name}): {len(loaded.frame):,} rows, best of {repeat}: "
          f"wall {min(w for w, _ in runs):.2f} s, CPU {min(c for _, c in runs):.2f} s")


if __name__ == "__main__":
    sys.exit(main())
