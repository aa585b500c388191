"""How long the simulator takes, phase by phase, against a hand-fused numpy kernel doing the same arithmetic.

    python -m benchmarks.bench_simulate [--sizes 100x100,1000x100] [--weeks 52] [--repeat 3] [--draws 20] [--seed 0]

For each size (accounts x products x 52 weeks) a world is built in memory (benchmarks.worlds; not counted), then
timed, every figure the best of `--repeat` runs, printed as wall seconds with the process's CPU seconds in
parentheses (other load on the machine inflates the wall time, much less the CPU time):

* compile: `compile_rules` (everything but the promotion calendar);
* promotions: compiling the world's events (`planner.simulate.promotions_for`);
* evaluate: one `evaluate` of the plan with Compiled's cached arrays already filled (what the second evaluation
  in `simulate`, every Monte Carlo draw and every optimizer candidate pay); "cold" also fills the caches;
* simulate: the full deterministic `simulate(rules, options with draws=0)`: compile, both evaluations (the plan
  and the no-promotion plan), KPIs, policy checks, weekly series;
* Monte Carlo: `monte_carlo` with `--draws` draws, run once, as draws per second.

REFERENCE, same run, same inputs: `fused_evaluate` below does the arithmetic of `planner.economics.core.evaluate`
from the Compiled arrays (shelf price via pass-through, price response, lift, dip, cannibalization, funding,
per-cell P&L, rebates as per-cell rates) with in-place ops into a reused workspace, and touches only the cells a
promotion changes for the promotion terms. Its results are checked against `evaluate` (totals with rtol 1e-9,
every cell with rtol 1e-9 / atol 1e-6) before anything is timed, so the ratio compares equal work. The goal
(docs/PRODUCT.md): 1,000 x 100 x 52 deterministic simulate < 2 s on 2 cores; ours >= 50% of the kernel's
throughput. On a machine loaded by other work the numbers are indicative: re-run, compare ratios, not seconds.

At the largest size it then replays `simulate`'s steps one by one, times the parts of `evaluate` that are functions
of their own, and prints a cProfile of one `simulate` (skip all three with --no-profile), so hot spots are visible.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import os
import platform
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numpy as np

from benchmarks.worlds import synthetic_world
from planner.compile.index import FloatArray
from planner.compile.model import Compiled, compile_rules
from planner.compile.promotions import Promotions
from planner.economics.core import Cells, evaluate, rebates_per_cell
from planner.economics.rebates import payout
from planner.economics.response import volume_lost
from planner.rules.scenario import ScenarioOptions
from planner.simulate import WEEKLY, _kpis, _policy, monte_carlo, order_suggestion, promotions_for, simulate

T = TypeVar("T")
GOAL_SIZE, GOAL_SECONDS, GOAL_RATIO = (1000, 100, 52), 2.0, 0.5
OUTPUTS = ("volume", "incremental_volume", "gross_sales", "off_invoice", "promo_funding", "rebates", "trade_spend",
           "net_sales", "cogs", "gross_profit", "revenue")


@dataclasses.dataclass
class Prepared:
    """Promotion-independent arrays: what `evaluate` keeps in Compiled's cached properties."""

    expected_base: FloatArray
    factor: FloatArray
    shelf_regular: FloatArray
    off_invoice_per_case: FloatArray
    fees_total: FloatArray


def prepare_cold(compiled: Compiled) -> Prepared:
    """The cached arrays computed from Compiled's own fields, in place: shelf = (1 + markup) x ((1 - pass) x band +
    pass x invoice), so ratio = shelf / (band x (1 + markup)) = 1 - pass + pass x invoice / band."""
    demand, shape = compiled.demand, compiled.shape
    band = compiled.band_price[:, :, None]
    passed = compiled.pass_through[:, None, None]
    ratio = np.divide(compiled.invoice, np.where(band > 0, band, 1.0))
    ratio *= passed
    ratio += 1.0 - passed
    if not (band > 0).all():
        ratio[np.broadcast_to(band <= 0, shape)] = 1.0
    shelf = np.multiply(ratio, band * (1.0 + compiled.markup[:, None, None]))
    factor = np.power(ratio, demand.elasticity[:, :, None], out=ratio)
    base = np.multiply(demand.baseline[:, :, None], demand.seasonality[:, None, :])
    base *= demand.holiday
    base *= demand.shelf[:, :, None]
    base *= demand.display
    off_invoice = np.subtract(compiled.list_price[None, :, None], compiled.invoice)
    fees = compiled.fees
    total = np.add(fees.shelf, fees.display)
    total += fees.cooler
    total += fees.fixed_discounts
    return Prepared(base, factor, shelf, off_invoice, total)


def prepare_warm(compiled: Compiled) -> Prepared:
    """The same arrays from Compiled's caches (filled on first use), as `evaluate` reads them."""
    return Prepared(compiled.demand.expected_base, compiled.price_factor, compiled.shelf_regular,
                    compiled.off_invoice_per_case, compiled.fees.total)


def workspace(shape: tuple[int, int, int]) -> dict[str, FloatArray]:
    return {name: np.empty(shape) for name in (*OUTPUTS, "volume_np")}


def fused_evaluate(compiled: Compiled, prepared: Prepared, promotions: Promotions,
                   out: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """`evaluate`'s arithmetic (planner/economics/core.py docstring), written into `out`. Dense passes only where
    every cell changes; the promotion terms (lift, dip, cannibalization, funding, event costs) on the promoted
    cells and the cells they touch, by flat index."""
    demand, (_, products, weeks) = compiled.demand, compiled.shape
    volume_np, volume = out["volume_np"], out["volume"]
    np.multiply(prepared.expected_base, prepared.factor, out=volume_np)
    volume_np += demand.cooler_cases[:, :, None]
    np.copyto(volume, volume_np)
    flat_np, flat_volume = volume_np.reshape(-1), volume.reshape(-1)
    out["promo_funding"].fill(0.0)
    out["incremental_volume"].fill(0.0)
    cells = np.flatnonzero(promotions.promoted)
    if len(cells):
        line = cells // weeks
        week = cells - line * weeks
        depth = promotions.depth.reshape(-1)[cells]
        base = prepared.expected_base.reshape(-1)[cells] * prepared.factor.reshape(-1)[cells]
        response = np.power(1.0 - depth, demand.elasticity.reshape(-1)[line])
        gain = base * (response * promotions.lift.reshape(-1)[cells] - 1.0)
        share = promotions.funding.reshape(-1)[cells] * depth * prepared.shelf_regular.reshape(-1)[cells]
        out["promo_funding"].reshape(-1)[cells] = (flat_np[cells] + gain) * share
        flat_volume[cells] += gain
        touched = [cells]
        spread = demand.dip_weeks.reshape(-1)[line]
        lost = np.maximum(gain, 0.0) * (demand.post_promo_dip.reshape(-1)[line] / np.maximum(spread, 1))
        for k in range(1, min(int(spread.max()), weeks - 1) + 1 if demand.post_promo_dip.any() else 1):
            keep = (week + k < weeks) & (spread >= k)
            flat_volume[cells[keep] + k] -= lost[keep]
            touched.append(cells[keep] + k)
        taken = np.maximum(gain, 0.0) * demand.cannibalization.reshape(-1)[line]
        category = compiled.category[line % products]
        for c in range(int(compiled.category.max()) + 1):
            members = np.flatnonzero(compiled.category == c)
            mine = np.flatnonzero((category == c) & (taken > 0))
            if len(members) < 2 or not len(mine):
                continue
            key = (line[mine] // products) * weeks + week[mine]
            slots, slot = np.unique(key, return_inverse=True)
            donors = ((slots // weeks)[:, None] * products + members[None, :]) * weeks + (slots % weeks)[:, None]
            supply = flat_np[donors]
            others = supply.sum(axis=1)[slot] - flat_np[cells[mine]]
            per_donor = np.divide(taken[mine], others, out=np.zeros(len(mine)), where=others > 0)
            flat_volume[donors] -= supply * np.bincount(slot, per_donor, len(slots))[:, None]
            flat_volume[cells[mine]] += flat_np[cells[mine]] * per_donor
            touched.append(donors.reshape(-1))
        hit = np.concatenate(touched)
        flat_volume[hit] = np.maximum(flat_volume[hit], 0.0)
        out["incremental_volume"].reshape(-1)[hit] = flat_volume[hit] - flat_np[hit]
    np.multiply(volume, compiled.list_price[None, :, None], out=out["gross_sales"])
    np.multiply(volume, prepared.off_invoice_per_case, out=out["off_invoice"])
    np.multiply(volume, compiled.invoice, out=out["revenue"])
    _fused_rebates(compiled, volume, out["revenue"], out["rebates"])
    trade = np.add(out["off_invoice"], prepared.fees_total, out=out["trade_spend"])
    trade += out["rebates"]
    if len(cells):
        trade.reshape(-1)[cells] += out["promo_funding"].reshape(-1)[cells] + promotions.fixed_cost.reshape(-1)[cells]
    np.subtract(out["gross_sales"], trade, out=out["net_sales"])
    np.multiply(volume, compiled.cogs[None, :, None], out=out["cogs"])
    np.subtract(out["net_sales"], out["cogs"], out=out["gross_profit"])
    return out


def _fused_rebates(compiled: Compiled, volume: FloatArray, revenue: FloatArray, rebates: FloatArray) -> None:
    """Rebate rates per account x week, one (A, W) table per product scope; each scope's totals summed once, and
    a product-scoped rate applied only to the accounts it covers."""
    accounts, _, weeks = compiled.shape
    totals: dict[bytes, tuple[FloatArray, FloatArray]] = {}
    rates: dict[bytes, FloatArray] = {}
    covered: dict[bytes, set[int]] = {}
    full = b""
    for item in compiled.rebates:
        if not len(item.accounts) or not item.products.any():
            continue
        key = full if item.products.all() else item.products.tobytes()
        if key not in totals:
            weight = item.products.astype(float)
            totals[key] = ((volume.sum(axis=1), revenue.sum(axis=1)) if key == full else
                           (np.einsum("apw,p->aw", volume, weight), np.einsum("apw,p->aw", revenue, weight)))
            rates[key], covered[key] = np.zeros((accounts, weeks)), set()
        covered[key].update(item.accounts.tolist())
        volume_aw, revenue_aw = (t[item.accounts] for t in totals[key])
        for period in item.periods:
            start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
            if stop <= start:
                continue
            money = revenue_aw[:, start:stop].sum(axis=1)
            amount = payout(item.rebate, volume_aw[:, start:stop].sum(axis=1), money, item.last_year)
            rates[key][item.accounts, start:stop] += np.divide(amount, money, out=np.zeros_like(amount),
                                                               where=money > 0)[:, None]
    if full in rates:
        np.multiply(revenue, rates[full][:, None, :], out=rebates)
    else:
        rebates.fill(0.0)
    for key, rate in rates.items():
        if key != full:
            block = np.ix_(np.array(sorted(covered[key])), np.flatnonzero(np.frombuffer(key, dtype=bool)))
            rebates[block] += revenue[block] * rate[block[0][:, 0], None, :]


def check_same(cells: Cells, fused: dict[str, FloatArray], what: str) -> None:
    """The kernel must reproduce `evaluate`, or the comparison means nothing."""
    for name in OUTPUTS:
        ours, theirs = getattr(cells, name), fused[name]
        assert np.allclose(ours.sum(), theirs.sum(), rtol=1e-9), f"{what}: total {name} {ours.sum()} != {theirs.sum()}"
        assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-6), f"{what}: {name} differs per cell"


def uncached(compiled: Compiled) -> Compiled:
    """A copy of `compiled` whose cached arrays are not yet computed (what the first evaluation pays)."""
    return dataclasses.replace(compiled, demand=dataclasses.replace(compiled.demand),
                               fees=dataclasses.replace(compiled.fees))


@dataclasses.dataclass(frozen=True)
class Timing:
    """Best wall-clock and best CPU seconds (process time: what the run got of a core on a loaded machine)."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.3f} ({self.cpu:.3f})"


def best_of(repeat: int, run: Callable[[], T]) -> tuple[Timing, T]:
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return Timing(wall, cpu), result  # type: ignore[return-value]


def time_kernel(compiled: Compiled, promotions: Promotions, repeat: int) -> dict[str, Timing]:
    """Check the kernel against `evaluate` (the plan and the no-promotion plan), then time it: cold (computing
    the promotion-independent arrays too), warm into a reused workspace, and warm into fresh output arrays."""
    out = workspace(compiled.shape)
    for plan in (promotions, Promotions.none(compiled.shape)):
        cells = evaluate(compiled, plan)
        check_same(cells, fused_evaluate(compiled, prepare_warm(compiled), plan, out), "warm")
        check_same(cells, fused_evaluate(compiled, prepare_cold(compiled), plan, out), "cold")
    warm = prepare_warm(compiled)
    return {
        "kernel_cold": best_of(repeat, lambda: fused_evaluate(compiled, prepare_cold(compiled), promotions, out))[0],
        "kernel": best_of(repeat, lambda: fused_evaluate(compiled, warm, promotions, out))[0],
        "kernel_fresh": best_of(repeat, lambda: fused_evaluate(compiled, warm, promotions,
                                                               workspace(compiled.shape)))[0],
    }


def measure(accounts: int, products: int, weeks: int, repeat: int, draws: int, seed: int) -> dict[str, Any]:
    start = time.perf_counter()
    rules = synthetic_world(accounts, products, weeks, seed)
    row: dict[str, Any] = {"size": (accounts, products, weeks), "world": time.perf_counter() - start}
    row["compile"], compiled = best_of(repeat, lambda: compile_rules(rules))
    row["promotions"], promotions = best_of(repeat, lambda: promotions_for(rules, compiled, rules.events))
    row["cells"], row["promoted"] = promotions.promoted.size, float(promotions.promoted.mean())
    row["evaluate_cold"], _ = best_of(repeat, lambda: evaluate(uncached(compiled), promotions))
    row["evaluate"], _ = best_of(repeat, lambda: evaluate(compiled, promotions))
    row.update(time_kernel(compiled, promotions, repeat))
    options = ScenarioOptions(draws=0, seed=seed)
    row["simulate"], _ = best_of(repeat, lambda: simulate(rules, options))
    if draws:
        mc, _ = best_of(1, lambda: monte_carlo(rules, compiled, promotions, draws, seed))
        row["draws_per_s"] = Timing(draws / mc.wall, draws / mc.cpu)
    row["rules"], row["compiled"], row["promotions_plan"] = rules, compiled, promotions
    return row


def _size(row: dict[str, Any]) -> str:
    return " × ".join(f"{n:,}" for n in row["size"])


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| accounts × products × weeks | cells | promoted | world s (not counted) | compile s | promotions s "
            "| evaluate s | simulate s | kernel s | ours cells/s | kernel cells/s | ours / kernel "
            f"(goal ≥ {GOAL_RATIO:.0%}) | simulate < {GOAL_SECONDS:g} s | MC draws/s |")
    lines = [head, "|" + "---|" * (head.count(" | ") + 1)]
    for r in rows:
        simulate_time: Timing = r["simulate"]
        goal = (f"{'yes' if simulate_time.wall < GOAL_SECONDS else '**no**'} "
                f"({'yes' if simulate_time.cpu < GOAL_SECONDS else '**no**'})") if r["size"] == GOAL_SIZE else "–"
        draws = f"{r['draws_per_s'].wall:.2f} ({r['draws_per_s'].cpu:.2f})" if "draws_per_s" in r else "–"
        ours, kernel = r["evaluate"], r["kernel"]
        lines.append(
            f"| {_size(r)} | {r['cells']:,} | {r['promoted']:.1%} | {r['world']:.2f} | {r['compile']} "
            f"| {r['promotions']} | {ours} | {simulate_time} | {kernel} "
            f"| {r['cells'] / ours.wall / 1e6:.1f}M ({r['cells'] / ours.cpu / 1e6:.1f}M) "
            f"| {r['cells'] / kernel.wall / 1e6:.1f}M ({r['cells'] / kernel.cpu / 1e6:.1f}M) "
            f"| {kernel.wall / ours.wall:.0%} ({kernel.cpu / ours.cpu:.0%}) | {goal} | {draws} |")
    return "\n".join(lines)


def detail_table(rows: list[dict[str, Any]]) -> str:
    head = ("| accounts × products × weeks | evaluate cold s | evaluate warm s | kernel cold s | kernel warm s "
            "| kernel warm, fresh output arrays s | cold ours / kernel |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    lines += [f"| {_size(r)} | {r['evaluate_cold']} | {r['evaluate']} | {r['kernel_cold']} | {r['kernel']} "
              f"| {r['kernel_fresh']} | {r['kernel_cold'].wall / r['evaluate_cold'].wall:.0%} "
              f"({r['kernel_cold'].cpu / r['evaluate_cold'].cpu:.0%}) |" for r in rows]
    return "\n".join(lines)


def where(function: Callable[..., Any]) -> str:
    """'file.py:line' of a function, so the labels follow the code."""
    code = getattr(function, "__wrapped__", function).__code__
    return f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"


def _weekly(compiled: Compiled, cells: Cells) -> dict[str, dict[str, list[float]]]:
    """The weekly series and order suggestions `simulate` builds (planner/simulate.py, simulate())."""
    by_week = cells.sums((1,))
    orders = order_suggestion(by_week["volume"], np.array([a.safety_stock_weeks for a in compiled.index.accounts]))
    return {account.id: {**{key: by_week[key][a].tolist() for key in WEEKLY}, "order_suggestion": orders[a].tolist()}
            for a, account in enumerate(compiled.index.accounts)}


def simulate_phases(row: dict[str, Any], repeat: int) -> str:
    """`simulate`'s steps (planner/simulate.py, simulate()) replayed one by one, each the best of `repeat`."""
    rules = row["rules"]
    best: dict[str, Timing] = {}

    def step(name: str, function: Callable[..., T], *args: Any) -> T:
        timing, result = best_of(1, partial(function, *args))
        old = best.get(name, timing)
        best[name] = Timing(min(old.wall, timing.wall), min(old.cpu, timing.cpu))
        return result

    for _ in range(repeat):
        compiled = step(f"compile_rules ({where(compile_rules)})", compile_rules, rules)
        promotions = step(f"promotions_for ({where(promotions_for)})", promotions_for, rules, compiled, rules.events)
        cells = step("evaluate plan (fills the caches)", evaluate, compiled, promotions)
        none = step("evaluate no-promotion plan", evaluate, compiled, Promotions.none(compiled.shape))
        by_week = step("aggregate by account x week", cells.sums, (1,))
        per_account = {key: value.sum(axis=1) for key, value in by_week.items()}
        step(f"_kpis ({where(_kpis)})", _kpis, compiled, per_account, none)
        step("weekly series + orders (in simulate)", _weekly, compiled, cells)
        step(f"_policy ({where(_policy)})", _policy, rules, compiled, cells, list(rules.events), per_account)
    total = Timing(sum(t.wall for t in best.values()), sum(t.cpu for t in best.values()))
    head = (f"simulate phases at {_size(row)}, s wall (CPU), best of {repeat} (simulate itself {row['simulate']}; "
            f"sum of phases {total}):")
    lines = [head]
    lines += [f"  {name:42s} {timing}" for name, timing in best.items()]
    return "\n".join(lines)


def evaluate_phases(row: dict[str, Any], repeat: int) -> str:
    """The parts of `evaluate` (warm) that are their own functions, timed alone on the same inputs."""
    compiled, promotions = row["compiled"], row["promotions_plan"]
    cells = evaluate(compiled, promotions)
    demand = compiled.demand
    base = demand.expected_base * compiled.price_factor  # evaluate's inputs to volume_lost
    volume_np = base + demand.cooler_cases[:, :, None]
    promoted = np.flatnonzero(promotions.promoted)
    line = promoted // compiled.shape[2]
    extra = base.reshape(-1)[promoted] * (np.power(1.0 - promotions.depth.reshape(-1)[promoted],
                                                   demand.elasticity.reshape(-1)[line])
                                          * promotions.lift.reshape(-1)[promoted] - 1.0)
    parts = {
        f"volume_lost ({where(volume_lost)})": lambda: volume_lost(volume_np, promoted, extra, demand,
                                                                   compiled.category),
        f"rebates_per_cell ({where(rebates_per_cell)})": lambda: rebates_per_cell(compiled, cells.volume,
                                                                                  cells.revenue),
        f"Cells.sums((0, 1, 2)) ({where(Cells.sums)})": lambda: cells.sums((0, 1, 2)),
    }
    lines = [f"evaluate phases at {_size(row)}, s wall (CPU), warm, best of {repeat}; evaluate itself {row['evaluate']}:"]
    for name, run in parts.items():
        lines.append(f"  {name:38s} {best_of(repeat, run)[0]}")
    return "\n".join(lines)


def profile(row: dict[str, Any]) -> str:
    profiler = cProfile.Profile()
    rules = row["rules"]
    profiler.runcall(simulate, rules, ScenarioOptions(draws=0))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(10)
    stats.sort_stats("cumulative").print_stats(r"planner", 12)
    lines = [line for line in text.getvalue().splitlines()
             if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced"))]
    body = "\n".join(line for n, line in enumerate(lines) if "function calls" not in line or n == 0)
    return f"cProfile of one simulate at {_size(row)} (self time, then cumulative within planner/):\n{body}"


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    try:
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "planner"], capture_output=True, text=True,
                               check=True).stdout
        code = f"git {revision}{' + uncommitted changes in planner/' if dirty.strip() else ''}"
    except (OSError, subprocess.CalledProcessError):
        code = "not a git checkout"
    return (f"machine: nproc {cores}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"{platform.machine()} {platform.system()}, load average {load} (1/5/15 min); code: {code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100x100,1000x100", help="accounts x products, comma separated")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per figure")
    parser.add_argument("--draws", type=int, default=20, help="Monte Carlo draws (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-profile", action="store_true", help="skip the phases and cProfile at the largest size")
    args = parser.parse_args(argv)
    sizes = [tuple(int(n) for n in size.lower().split("x")) for size in args.sizes.split(",")]
    print(machine(), flush=True)
    print("command: python -m benchmarks.bench_simulate " + " ".join(sys.argv[1:] if argv is None else argv))
    rows: list[dict[str, Any]] = []
    for accounts, products in sizes:
        print(f"measuring {accounts} x {products} x {args.weeks} ...", file=sys.stderr, flush=True)
        row = measure(accounts, products, args.weeks, args.repeat, args.draws, args.seed)
        largest = max(rows, key=lambda r: r["cells"], default=None)
        for smaller in (row, largest) if largest else ():  # keep the world of the largest size only (memory)
            if smaller is not max(row, largest, key=lambda r: r["cells"]):
                for key in ("rules", "compiled", "promotions_plan"):
                    smaller.pop(key, None)
        rows.append(row)
    print(f"\nsimulate benchmark: seconds wall (CPU), best of {args.repeat}; MC {args.draws} draws, run once\n")
    print(table(rows))
    print("\nevaluate with and without Compiled's cached arrays; the kernel with a reused workspace or fresh arrays\n")
    print(detail_table(rows))
    if not args.no_profile:
        largest = max(rows, key=lambda r: r["cells"])
        print("\n" + simulate_phases(largest, args.repeat))
        print("\n" + evaluate_phases(largest, args.repeat))
        print("\n" + profile(largest))
    print("\n" + machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
