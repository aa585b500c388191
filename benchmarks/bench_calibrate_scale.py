"""Calibration at scale: synthetic histories of up to 1,000 accounts x 100 products x 156 weeks, fitted whole.

    python -m benchmarks.bench_calibrate --scale [--sizes 100,300,1000] [--products 100] [--categories 10]
                                         [--weeks 156]

Each size is a world drawn by planner.calibrate.synthetic from the engine's form with known parameters (products
split evenly over the categories, dip share 0.2 over 2 weeks, cannibalization 0.15, negative-binomial noise with
variance mu + 0.1 mu^2), written to a temporary Parquet file by one child process and fitted by another, so the
fit's peak memory (the child's ru_maxrss: the loaded history plus everything the fit holds) is its own and not the
generator's. Columns: rows, the fit's wall and CPU seconds, the peak resident memory of the fitting process,
microseconds of CPU per row, and the largest recovery error of each kind over the categories (elasticity and
lifts relative, dip and cannibalization absolute; tolerances 5 %, 10 %, 0.03, 0.03).
"""

from __future__ import annotations

import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from planner.calibrate.fit import fit
from planner.calibrate.synthetic import World, recovery, world

TOLERANCE = {"elasticity": 0.05, "lift": 0.10, "dip": 0.03, "cannibalization": 0.03}


def peak_gigabytes() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def generate(folder: Path, accounts: int, products: int, categories: int, weeks: int, seed: int) -> dict[str, float]:
    started, cpu = time.perf_counter(), time.process_time()
    synthetic = world(seed, accounts=accounts, products=products, categories=categories, weeks=weeks, level=20.0,
                      overdispersion=0.1, lean=True)
    synthetic.frame.to_parquet(folder / "history.parquet", index=False)
    with open(folder / "truth.pickle", "wb") as out:
        pickle.dump(World(synthetic.frame.iloc[:0], synthetic.truth, synthetic.category_of), out)
    return {"rows": float(len(synthetic.frame)), "generate s (wall)": time.perf_counter() - started,
            "generate s (CPU)": time.process_time() - cpu, "generate peak GB": peak_gigabytes()}


def fit_and_check(folder: Path) -> dict[str, object]:
    frame = pd.read_parquet(folder / "history.parquet")
    with open(folder / "truth.pickle", "rb") as source:
        synthetic: World = pickle.load(source)  # our own file, written a moment ago
    loaded = peak_gigabytes()
    started, cpu = time.perf_counter(), time.process_time()
    fitted = fit(frame)
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    errors = recovery(fitted, World(frame, synthetic.truth, synthetic.category_of))
    worst = {kind: max(abs(v) for k, v in errors.items() if k.startswith(kind)) for kind in TOLERANCE}
    return {"fit s (wall)": wall, "fit s (CPU)": cpu_s, "peak GB": peak_gigabytes(), "history loaded GB": loaded,
            "response series": fitted.statistics.get("response_series", float("nan")),
            **{f"max |error| {k}": v for k, v in worst.items()},
            "within tolerances": "yes" if all(worst[k] <= TOLERANCE[k] for k in TOLERANCE) else "NO"}


def child(argv: list[str]) -> int:
    """`generate FOLDER accounts products categories weeks seed` or `fit FOLDER`: one JSON line on stdout."""
    folder = Path(argv[1])
    if argv[0] == "generate":
        result: dict[str, object] = dict(generate(folder, *(int(x) for x in argv[2:7])))
    else:
        result = fit_and_check(folder)
    print(json.dumps(result))
    return 0


def _run(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_calibrate_scale", *args], check=True,
                          capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def scale_rows(sizes: list[int], products: int, categories: int, weeks: int, seed: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for accounts in sizes:
        with tempfile.TemporaryDirectory() as folder:
            made = _run("generate", folder, str(accounts), str(products), str(categories), str(weeks), str(seed))
            fitted = _run("fit", folder)
        count = float(str(made["rows"]))
        row: dict[str, object] = {"accounts x products x weeks": f"{accounts} x {products} x {weeks}",
                                  "rows": int(count), **fitted,
                                  "CPU µs/row": float(str(fitted["fit s (CPU)"])) / count * 1e6,
                                  "generate s (CPU)": made["generate s (CPU)"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(child(sys.argv[1:]))
