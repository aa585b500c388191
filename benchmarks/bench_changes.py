"""What freezing each account's terms and comparing two versions' terms cost, against the simulation a submission
runs anyway.

    python -m benchmarks.bench_changes [--sizes 14,100x20,1000x20,5000x20] [--repeat 3]

`14` is the demo's base-2027 (rules/ and scenarios/base.yaml); `AxP` is `benchmarks.worlds.synthetic_world(A, P)`.
For each world (built in memory, not counted), the best of `--repeat` runs, wall seconds with the process's CPU
seconds in parentheses:

* terms: `planner.changes.terms.account_terms` (what `plan submit` and `report` add to a version's freeze), and
  the frozen terms' size as compact JSON (what the store keeps in the account rows);
* compare: `by_rule` on both versions' terms and `compare` of the world against itself with one rebate rate
  changed (what `plan diff` and the pack add);
* REFERENCE, same run: the deterministic `simulate` of the same world (draws 0), which every submission runs.

The ratio column is (terms + compare) / simulate.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.worlds import synthetic_world
from planner.changes.compare import Change, compare
from planner.changes.terms import Terms, account_terms, by_rule
from planner.rules.scenario import ScenarioOptions, resolve
from planner.rules.schema import RuleSet
from planner.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent


def best(function: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(wall, CPU) seconds of the fastest of `repeat` runs, and the last result."""
    timings, result = [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(timings)
    return wall, cpu, result


def world(size: str) -> tuple[str, RuleSet]:
    if "x" not in size:
        resolved = resolve(ROOT / "scenarios" / "base.yaml", [])
        return "demo base-2027", resolved.rules
    accounts, products = (int(part) for part in size.split("x"))
    return f"synthetic {accounts:,} x {products}", synthetic_world(accounts, products)


def changed(rules: RuleSet) -> RuleSet:
    """The same world with its first rebate's first tier paying one point more."""
    rebate = rules.rebates[0]
    tiers = (rebate.tiers[0].model_copy(update={"rate": rebate.tiers[0].rate + 0.01}), *rebate.tiers[1:])
    return rules.replace(rebates=(rebate.model_copy(update={"tiers": tiers}), *rules.rebates[1:]))


def compare_terms(before: dict[str, Terms], after: dict[str, Terms]) -> list[Change]:
    return compare(by_rule(before, []), by_rule(after, []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="14,100x20,1000x20,5000x20")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    options = ScenarioOptions(draws=0)
    print("| world | accounts | rules | terms | frozen terms | compare | simulate (reference) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in arguments.sizes.split(","):
        label, rules = world(size)
        other = changed(rules)
        terms_wall, terms_cpu, terms = best(partial(account_terms, rules), arguments.repeat)
        other_terms = account_terms(other)
        size_bytes = sum(len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) for value in terms.values())
        compare_wall, compare_cpu, found = best(partial(compare_terms, terms, other_terms), arguments.repeat)
        assert [change.field for change in found] == ["tiers.0.rate"], found
        simulate_wall, simulate_cpu, _ = best(partial(simulate, rules, options), arguments.repeat)
        ratio = (terms_wall + compare_wall) / simulate_wall
        print(f"| {label} | {len(rules.accounts):,} | {rules.rule_count:,} | {terms_wall:.3f} ({terms_cpu:.3f}) | "
              f"{size_bytes / 1e6:.2f} MB | {compare_wall:.3f} ({compare_cpu:.3f}) | "
              f"{simulate_wall:.3f} ({simulate_cpu:.3f}) | {ratio:.2f} |")


if __name__ == "__main__":
    main()
