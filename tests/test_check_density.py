"""The checker on dense rule sets (the demo's rules cloned with new ids, many rules on the same scopes) and on sparse
ones (benchmarks.generate) gives the same findings as before the density work (issue 15, part 7).

`tests/fixtures/golden/sparse_1500_floors_findings.json.gz` holds the findings of the checker before that work
(git 677cbc8) on `write_rule_set(DIR, 1500, seed=0)` with every price floor raised to a 60% markup (the generated
set is consistent by construction; the raised floors give findings to compare).

`tests/fixtures/golden/dense_1500_findings.json.gz` holds the findings JSON of the checker as it was before the
per-scope caches, the merged budget minimums and the per-cell floor indexes, on `write_dense_rule_set(DIR, 1500)`
(regenerate with `python -m tests.test_check_density` only when a change of findings is intended, and say why in
the commit). What changed on purpose since: a finding names at most RELATED_SHOWN related objects and counts the
rest in its example (`related_not_shown`); findings of codes added later (NEW_CODES) are not in the golden file.
The demo's rules changed under it (git 4685e4f: baselines and response calibrated into rules/calibrated.yaml), so
the file was retaken on the new demo with the checker of git a7fb920, before the stack, feasibility, floor and
budget speed-ups that it checks.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.generate import write_rule_set
from benchmarks.synth_dense import write_dense_rule_set
from planner.check import run_checks
from planner.check.budgets import least_spend
from planner.check.calendar import feasible
from planner.check.context import SHOWN
from planner.check.floors import week_runs
from planner.rules.findings import sort_findings
from planner.rules.load import load_rules

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "dense_1500_findings.json.gz"
SPARSE_GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "sparse_1500_floors_findings.json.gz"
SIZE = 1500
NEW_CODES = {"PP202", "PP314", "PP411", "PP427", "PP428", "PP429"}
"""Codes the checker gained after the golden file was taken (issue 15, parts 2 and 5)."""

def dense_findings(folder: Path) -> list[dict[str, Any]]:
    """The findings of `folder` as JSON, with file paths relative to it (so the golden file does not depend on
    where the folder was)."""
    write_dense_rule_set(folder, SIZE)
    previous = Path.cwd()
    os.chdir(folder)
    try:
        loaded = load_rules([Path(".")])
        assert not loaded.findings, loaded.findings[:3]
        return [f.as_json() for f in sort_findings(run_checks(loaded.rules))]
    finally:
        os.chdir(previous)

def write_golden(folder: Path) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    kept = [item for item in dense_findings(folder) if item["code"] not in NEW_CODES]  # as the test compares
    text = json.dumps(kept, indent=1, sort_keys=True)
    GOLDEN.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))

def capped(item: dict[str, Any]) -> dict[str, Any]:
    """A golden finding as the capped output names it: at most SHOWN related locations, discounts and rebates,
    the rest counted in the example."""
    example = dict(item["example"])
    for key in ("discounts", "rebates"):
        if isinstance(example.get(key), list) and len(example[key]) > SHOWN:
            example[f"{key}_not_shown"] = len(example[key]) - SHOWN
            example[key] = example[key][:SHOWN]
    if len(item["related"]) > SHOWN:
        example["related_not_shown"] = len(item["related"]) - SHOWN
    return {**item, "related": item["related"][:SHOWN], "example": example}


def test_dense_findings_match_the_golden_file(tmp_path: Path) -> None:
    golden = [capped(item) for item in json.loads(gzip.decompress(GOLDEN.read_bytes()))]
    found = [item for item in dense_findings(tmp_path / "dense") if item["code"] not in NEW_CODES]
    assert len(found) == len(golden)
    for mine, theirs in zip(found, golden):
        assert mine == theirs
    assert any("related_not_shown" in item["example"] for item in golden), "the golden set exercises the cap"

if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_golden(Path(tmp) / "dense")
    print(f"wrote {GOLDEN}", file=sys.stderr)


def test_sparse_findings_with_raised_floors_match_the_golden_file(tmp_path: Path) -> None:
    write_rule_set(tmp_path, SIZE, seed=0)
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        rules = load_rules([Path(".")]).rules
        floors = []
        for floor in rules.price_floors:
            raised = floor.model_copy(update={"min_markup": 0.6})
            raised.locate(floor.location)
            floors.append(raised)
        rules = dataclasses.replace(rules, price_floors=tuple(floors), _index={})
        found = [f.as_json() for f in sort_findings(run_checks(rules))]
    finally:
        os.chdir(previous)
    golden = [capped(item) for item in json.loads(gzip.decompress(SPARSE_GOLDEN.read_bytes()))]
    assert golden and [item for item in found if item["code"] not in NEW_CODES] == golden


def _regions(cells: int, *members: tuple[int, ...]) -> list[npt.NDArray[np.bool_]]:
    out = []
    for member in members:
        region = np.zeros(cells, dtype=bool)
        region[list(member)] = True
        out.append(region)
    return out


def test_least_spend_merges_clones_and_solves_overlaps_exactly() -> None:
    """Identical minimums bind once; a chain of 24 overlapping minimums (exponential for the old recursion) and a
    triangle of pairwise-overlapping ones (where the largest disjoint packing, 10, understates the spend) give the
    least committed spend of the linear programme."""
    assert least_spend(_regions(4, *[(0, 1)] * 1000), [10.0] * 1000) == 10.0
    chain = _regions(25, *[(i, i + 1) for i in range(24)])
    assert least_spend(chain, [10.0] * 24) == 120.0
    assert least_spend(_regions(3, (0, 1), (1, 2), (0, 2)), [10.0] * 3) == 15.0
    assert least_spend(_regions(4, (0, 1, 2, 3), (0,), (3,)), [5.0, 4.0, 3.0]) == 7.0  # nested: the inner ones add


def test_feasibility_without_a_maximum_keeps_one_count_per_state_and_the_same_verdicts() -> None:
    """The pruned programme (one count per run length x weeks since the last run) gives the verdict, word for word,
    of the full state set, which the code runs when there is a maximum: a maximum no schedule can reach (more than
    the weeks) changes no verdict, so it is the reference."""
    rng = np.random.default_rng(15)
    verdicts = set()
    for _ in range(3000):
        weeks = int(rng.integers(4, 16))
        cuts = sorted({int(c) for c in rng.integers(1, weeks, size=int(rng.integers(0, 3)))})
        bounds = [0, *cuts, weeks]
        windows = tuple((f"P{k + 1}", bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1))
        countable = tuple(bool(x) for x in rng.random(weeks) < rng.uniform(0.2, 0.9))
        fillers = tuple(bool(x) for x in rng.random(weeks) < 0.3) if rng.random() < 0.5 else ()
        forced = tuple((int(w), bool(rng.random() < 0.6)) for w in sorted(
            {int(w) for w in rng.integers(1, weeks + 1, size=int(rng.integers(0, 3)))}))
        max_run, gap, minimum = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(0, 6))
        pruned = feasible(weeks, windows, countable, forced, max_run, gap, minimum, None, fillers)
        reference = feasible(weeks, windows, countable, forced, max_run, gap, minimum, weeks + 1, fillers)
        assert pruned == reference, (weeks, windows, countable, forced, max_run, gap, minimum, fillers)
        verdicts.add(pruned if pruned is None else pruned.split(" ")[0])
    assert {None, "", "at", "no"} <= verdicts, verdicts  # every reachable kind of verdict was compared


def test_week_runs_cut_the_year_where_the_ranges_start_and_end() -> None:
    """The floors' rebate rates and deepest mechanics are solved once per run of weeks: every range must cover a
    run wholly or not at all, and the runs must hold exactly the weeks some range covers."""
    generator = np.random.default_rng(7)
    for _ in range(300):
        weeks = int(generator.integers(1, 60))
        ranges = []
        for _ in range(int(generator.integers(0, 8))):
            start = int(generator.integers(0, weeks + 1))
            ranges.append((start, int(generator.integers(start, weeks + 1))))
        runs = week_runs(ranges, weeks)
        covered = {w for start, stop in ranges for w in range(start, stop)}
        assert sorted(w for first, last in runs for w in range(first, last)) == sorted(covered)
        for first, last in runs:
            assert first < last
            for start, stop in ranges:
                assert (start <= first and last <= stop) or last <= start or stop <= first
