"""The demo's cascade after an estimation change (docs/calibration.md, "After an estimation change"), in order.

    .venv/bin/python -m benchmarks.demo_figures [--out DIR] [--tests] [--before COMMIT]

Regenerate rules/calibrated.yaml with the documented command (history/README.md) and check that it is a fixed
point (a second fit over the written file writes the same bytes) and that one BLAS thread gives the same values to
the written decimals; regenerate the Q1 2027 actuals; then run every command whose figures README.md,
docs/approval.md, docs/review.md, docs/optimizer.md, docs/calibration.md (its demo paragraphs) and
history/README.md quote, and print those figures in the form the documents quote them (also to DIR/figures.txt).
Put them in the documents by hand (grep the old values).

Every command runs as a subprocess from the repository root with `.venv/bin` first on PATH (`planner` and `python`
as the documents write them); its stdout goes to DIR/<step>.out, its stderr to DIR/<step>.err, and its wall time,
CPU time (user + system), peak resident memory and exit status, with the load average before it, to DIR/times.txt
and the screen. A failing command does not stop the cascade (the infeasible demo exits 1 by design). The first
steps rewrite committed files, rules/calibrated.yaml and history/actuals-2027-q1-*.csv (the point of the
cascade); everything else writes under DIR (default /tmp/demo-figures, emptied first) and out/demo-calibration.
About 2 minutes on the 2-core machine (128 s wall at 454252d, load average 2-5).

--tests      also run the tests docs/calibration.md names, PostgreSQL included (`.ci/postgres start`).
--before C   also time the demo's calibrate with commit C's planner/ against the working tree's, alternating, 3
             rounds, one BLAS thread and the default threads, with the L-BFGS-B runs (`_minimise`) timed inside
             (DIR/cost.txt).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any, TextIO

import yaml

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SPREADS = ("lift_sd", "post_promo_dip_sd", "cannibalization_sd")
# The tests docs/calibration.md names, and those that read the demo's figures or files.
TESTS = ("tests/test_demo_calibrated.py", "tests/test_demo.py", "tests/test_actuals.py", "tests/test_store_cli.py",
         "tests/test_store_workflow.py", "tests/test_report_pack.py", "tests/test_review.py", "tests/test_refit.py",
         "tests/test_store_docs.py")
POSTGRES_URL = "postgresql://planner:planner@127.0.0.1:54329/planner_test"
ROUNDS = 3

# --before: run `planner` with planner.calibrate.estimate._minimise timed (the cwd's planner/ comes first on the path).
STAGE = """\
import atexit, sys, time
import planner.calibrate.estimate as est
spent = []
original = est._minimise
def timed(*a, **k):
    c0, w0 = time.process_time(), time.perf_counter()
    out = original(*a, **k)
    spent.append((time.perf_counter() - w0, time.process_time() - c0, out[1]))
    return out
est._minimise = timed
atexit.register(lambda: print(f"{est.__file__}: _minimise calls {len(spent)}, wall {sum(s[0] for s in spent):.2f} s, "
                              f"CPU {sum(s[1] for s in spent):.2f} s, iterations {[s[2] for s in spent]}",
                              file=sys.stderr))
from planner.cli import main
sys.argv = ["planner", *sys.argv[1:]]
main()
"""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Cascade:
    """Runs the steps: each command's output under `out`, its cost appended to times.txt and printed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.env = dict(os.environ)
        self.env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.wall = 0.0
        self.cpu = 0.0

    def log(self, line: str) -> None:
        print(line, flush=True)
        with (self.out / "times.txt").open("a", encoding="utf-8") as times:
            times.write(line + "\n")

    def run(self, command: Sequence[str], stdout: TextIO, stderr: TextIO, env: dict[str, str],
            cwd: Path = ROOT) -> tuple[int, float, float, float, int]:
        """Exit status, wall s, user CPU s, system CPU s and peak resident KB of one command, its own only."""
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=stdout, stderr=stderr, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss

    def step(self, name: str, *command: str, env: dict[str, str] | None = None) -> int:
        """Run COMMAND, stdout/stderr to NAME.out/.err, its cost appended to times.txt; its exit status."""
        extra = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        self.log(f"== {name}: {extra + ' ' if extra else ''}{' '.join(command)} (load {load_average()})")
        with (self.out / f"{name}.out").open("w") as stdout, (self.out / f"{name}.err").open("w") as stderr:
            code, wall, user, system, rss = self.run(command, stdout, stderr, {**self.env, **(env or {})})
        self.wall += wall
        self.cpu += user + system
        self.log(f"   {name}: {wall:.2f} s wall, {user:.2f} s user + {system:.2f} s sys CPU, {rss} KB max RSS, "
                 f"exit {code}")
        return code


def without_line_4(path: Path) -> list[str]:
    """The file's lines but the header's fourth, the command, which names the --out folder."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[:3] + lines[4:]


def compare_values(path: Path, reference: Path) -> str:
    """The largest relative difference between two calibrated.yaml files' numbers, and how many differ by more
    than the written decimals (2e-4 both relative and absolute)."""
    diffs: list[tuple[float, float, str, Any, Any]] = []

    def walk(x: Any, y: Any, where: str = "") -> None:
        if isinstance(y, dict):
            for key in y:
                walk(x[key], y[key], f"{where}.{key}")
        elif isinstance(y, list):
            for i, (p, q) in enumerate(zip(x, y, strict=False)):
                walk(p, q, f"{where}[{i}]")
        elif isinstance(y, int | float) and not isinstance(y, bool):
            diffs.append((abs(x - y) / max(abs(y), 1e-9), abs(x - y), where, x, y))

    walk(yaml.safe_load(path.read_text(encoding="utf-8")), yaml.safe_load(reference.read_text(encoding="utf-8")))
    diffs.sort(reverse=True)
    beyond = sum(1 for d in diffs if d[0] > 2e-4 and d[1] > 2e-4)
    return f"   one BLAS thread: max {diffs[0] if diffs else None}, n>2e-4: {beyond}"


def drop_spreads(path: Path) -> None:
    """The rules' response profiles without the three spreads (lift, dip, cannibalization)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for profile in data["response"]:
        for key in SPREADS:
            profile.pop(key, None)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def cascade(run: Cascade) -> None:
    out = run.out
    step = run.step
    # 1. The demo's demand: the documented command (history/README.md, docs/calibration.md), run twice: the first
    #    writes the file, the second (over it) must write the same bytes (the fit does not read what it replaces).
    step("calibrate", "planner", "calibrate", "rules/", "history/demo-sales.csv", "--holdout", "0",
         "--out", "out/demo-calibration")
    shutil.copyfile(ROOT / "out/demo-calibration/calibrated.yaml", ROOT / "rules/calibrated.yaml")
    step("calibrate_again", "planner", "calibrate", "rules/", "history/demo-sales.csv", "--holdout", "0",
         "--out", f"{out}/calibrate-again")
    again = out / "calibrate-again" / "calibrated.yaml"
    fixed = again.exists() and without_line_4(ROOT / "rules/calibrated.yaml") == without_line_4(again)
    run.log("   calibrate is a fixed point" if fixed else "   calibrate is NOT a fixed point")
    # One BLAS thread instead of several (tests/test_demo_calibrated.py): values must agree to the written decimals.
    step("calibrate_1thread", "planner", "calibrate", "rules/", "history/demo-sales.csv", "--holdout", "0",
         "--out", f"{out}/calibrate-1thread", env=ONE_THREAD)
    one = out / "calibrate-1thread" / "calibrated.yaml"
    run.log(compare_values(one, ROOT / "rules/calibrated.yaml") if one.exists() else "   one BLAS thread: no file")

    # 2. The Q1 2027 actuals, drawn from the rules (history/README.md).
    step("actuals", "python", "-m", "planner.review.demo_actuals", "scenarios/base.yaml", "history/",
         "--through", "13", "--seed", "2027")

    # 3. The backtest (docs/calibration.md "The demo (...)" line; the 78-week fit's profile count).
    step("backtest", "planner", "calibrate", "rules/", "history/demo-sales.csv", "--holdout", "26",
         "--out", f"{out}/backtest")

    # 4. The base plan, deterministic totals (budget used, gross profit, Carrefour's volume and growth).
    step("simulate", "planner", "simulate", "scenarios/base.yaml", "--format", "json")
    step("simulate_summer", "planner", "simulate", "scenarios/summer-push.yaml", "--format", "json")  # "3.76M > 3.6M"

    # 5. Monte Carlo P10-P90 with the fit's spreads (docs/calibration.md, "What calibrated.yaml holds").
    step("simulate_draws500", "planner", "simulate", "scenarios/base.yaml", "--draws", "500", "--seed", "0",
         "--format", "json")

    # 6. The Q1 review (README, docs/review.md): a throw-away store, the actuals imported, 200 and 1,000 draws.
    run.env["PLANNER_DB"] = str(out / "plans.db")
    step("actuals_import", "planner", "actuals", "import", "history/actuals-2027-q1-sales.csv",
         "history/actuals-2027-q1-promotions.csv", "--scenario", "scenarios/base.yaml", "--as", "alice")
    review = ("planner", "review", "scenarios/base.yaml", "--through", "13", "--seed", "0")
    step("review200", *review, "--draws", "200", "--format", "json")
    step("review200_text", *review, "--draws", "200")
    step("review1000", *review, "--draws", "1000", "--format", "json")

    # 7. "Before the lifts, dips and cannibalization were drawn": the same rules without the three spreads.
    nospread = out / "nospread"
    shutil.copytree(ROOT / "rules", nospread / "rules")
    shutil.copytree(ROOT / "scenarios", nospread / "scenarios")
    drop_spreads(nospread / "rules" / "calibrated.yaml")
    base = f"{nospread}/scenarios/base.yaml"
    step("simulate_draws500_nospread", "planner", "simulate", base, "--draws", "500", "--seed", "0",
         "--format", "json")
    for draws in ("200", "1000"):
        step(f"review{draws}_nospread", "planner", "review", base, "--through", "13", "--draws", draws, "--seed", "0",
             "--format", "json")

    # 8. Approval (README, docs/approval.md): the base plan approved, Carrefour's growth rebate +1 pt, the diff.
    step("submit1", "planner", "plan", "submit", "scenarios/base.yaml", "--as", "alice")
    step("approve1", "planner", "plan", "approve", "base-2027@1", "--as", "bob", "--comment", "ok")
    step("submit2", "planner", "plan", "submit", "scenarios/base.yaml", "--as", "alice",
         "--set", "rebates.rb-carrefour-growth.tiers.1.rate=3%")
    step("diff12", "planner", "plan", "diff", "base-2027")

    # 9. The re-plan of the remaining 39 weeks (README "The year in motion").
    step("replan", "planner", "optimize", "scenarios/base.yaml", "--from-actuals", "--through", "13",
         "--time-limit", "300", "--out", f"{out}/q1-revision", "--format", "json")
    step("replan_check", "planner", "simulate", "scenarios/base.yaml", "--plan", f"{out}/q1-revision/plan.yaml",
         "--format", "json")

    # 10. The refit with the Q1 actuals (docs/review.md "Refit"), the second of its two commands.
    step("refit", "planner", "calibrate", "rules/", "history/demo-sales.csv", "history/actuals-2027-q1-sales.csv",
         "--holdout", "0", "--out", f"{out}/q1-refit")

    # 11. The optimizer on the demo (README; docs/optimizer.md "Reproduce").
    step("optimize", "planner", "optimize", "scenarios/base.yaml", "--out", f"{out}/optimized", "--format", "json")
    step("optimize_limit5", "planner", "optimize", "scenarios/base.yaml", "--time-limit", "5",
         "--out", f"{out}/optimized-5s", "--format", "json")
    step("optimize_frontier", "planner", "optimize", "scenarios/base.yaml", "--frontier", "3",
         "--out", f"{out}/demo-out", "--format", "json")
    step("optimize_frontier_check", "planner", "simulate", "scenarios/base.yaml", "--plan", f"{out}/demo-out/plan.yaml",
         "--format", "json")
    step("infeasible", "planner", "optimize", "scenarios/infeasible-demo.yaml", "--time-limit", "900")

    # 12. What planners hold in their hands (README): the optimized plan's workbook round trip, Carrefour's document.
    step("export", "planner", "plan", "export", f"{out}/optimized/plan.yaml", "--out", f"{out}/plan.xlsx")
    step("import", "planner", "plan", "import", f"{out}/plan.xlsx", "--out", f"{out}/reimported-plan.yaml")
    plan, reimported = out / "optimized" / "plan.yaml", out / "reimported-plan.yaml"
    same = plan.exists() and reimported.exists() and filecmp.cmp(plan, reimported, shallow=False)
    run.log("   the workbook imports to the identical plan" if same else "   the workbook does NOT import to the same plan")
    step("account_plan", "planner", "account-plan", "scenarios/base.yaml", "--account", "carrefour",
         "--history", "history/demo-sales.csv", "--out", f"{out}/account-plans")


# ---- 13. The figures, read out of the outputs (and those that need the Python API), in the documents' form ----

def n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}".replace("-", "−")


class Reader:
    def __init__(self, out: Path) -> None:
        self.out = out

    def text(self, name: str) -> str:
        return (self.out / f"{name}.out").read_text(encoding="utf-8")

    def load(self, name: str) -> Any:
        path = self.out / f"{name}.out"
        if not path.exists():
            return None
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None

    def calibrate(self) -> None:
        print(self.text("calibrate")[:6000])
        calibrated = (ROOT / "rules/calibrated.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(calibrated)
        print("seasonality", len(data["seasonality"]), "baselines", len(data["baselines"]),
              "response", len(data["response"]))
        print("header:", "\n".join(line for line in calibrated.splitlines()[:12] if line.startswith("#")))

    def backtest(self) -> None:
        print(self.text("backtest")[:4000])
        backtest_yaml = self.out / "backtest" / "calibrated.yaml"
        if backtest_yaml.exists():
            profiles = len(yaml.safe_load(backtest_yaml.read_text(encoding="utf-8"))["response"])
            print("78-week fit: response profiles", profiles)

    def simulate(self) -> None:
        base = self.load("simulate")
        totals = base["totals"]
        carrefour = next(a for a in base["accounts"] if a["id"] == "carrefour")
        print("budget used", n(totals["budget_used"]), "gross profit", n(totals["gross_profit"]),
              "carrefour volume", n(carrefour["volume"], 1),
              "carrefour growth", f"{base['growth']['carrefour'] * 100:+.2f} %")
        summer = self.load("simulate_summer")
        print("summer-push budget used", n(summer["totals"]["budget_used"]))

    def monte_carlo(self) -> None:
        for name in ("simulate_draws500_nospread", "simulate_draws500"):
            result = self.load(name)
            if result is None:
                continue
            u = result["uncertainty"]
            t = u["totals"]
            c = u["accounts"]["carrefour"]
            print(name, {k: n(t[k]["p90"] - t[k]["p10"]) for k in ("volume", "trade_spend", "budget_used",
                                                                    "gross_profit")},
                  "carrefour volume", n(c["volume"]["p90"] - c["volume"]["p10"]))

    def review(self) -> None:
        for name in ("review200", "review1000", "review200_nospread", "review1000_nospread"):
            r = self.load(name)
            if r is None:
                continue
            g = next(o for o in r["rebate_outlook"] if o["rule"] == "rb-carrefour-growth")
            print(name, f"so far {g['so_far'] * 100:+.2f} %, expected {g['expected'] * 100:+.2f} %, P(+25 %) "
                  f"{g['next_probability'] * 100:.1f} %, needs {n(g['cases_needed'])} "
                  f"({n(g['cases_needed_per_week'])} a week)")
        r = self.load("review200")
        v = r["quarter_totals"]["variance"]
        print("Q1 totals variance", {k: n(x) for k, x in v.items()})
        carrefour = next(a for a in r["accounts"] if a["id"] == "carrefour")
        print("latest estimate carrefour", n(carrefour["latest_estimate"]["volume"]))
        keys = ("actual_cases", "baseline_cases", "lift", "model_lift", "incremental_volume", "dip", "cannibalization",
                "spend", "incremental_gross_profit", "roi", "planned_roi")
        for e in r["events"]:
            if e["event"] in ("cf-cny-cola-cans", "yh-cny-cans"):
                print(e["event"], {k: e[k] for k in keys})
        print("league carrefour", [row for row in r["league_table"] if row["account"] == "carrefour"])

    def worked_example(self) -> None:
        """docs/review.md's worked example, with the review's own basis (weeks 1-13)."""
        from planner.actuals.read import read_actuals
        from planner.actuals.store import actuals_from_files
        from planner.review.review import review
        from planner.rules.scenario import resolve

        rules = resolve(ROOT / "scenarios/base.yaml", []).rules
        files = [read_actuals(ROOT / f"history/actuals-2027-q1-{kind}.csv", rules) for kind in ("sales", "promotions")]
        result = review(rules, list(rules.events), actuals_from_files(2027, files), 13)
        basis = result.basis
        a = result.accounts.index("carrefour")
        weeks = slice(0, 13)
        lines = {name: ledger.window(weeks)
                 for name, ledger in (("A", basis.actual), ("E", basis.expected), ("P", basis.plan))}
        for key in ("volume", "margin", "promo_funding", "event_costs", "fixed_discounts", "vividness", "rebates",
                    "gross_profit"):
            print(key, {k: n(float(v[key][a]), 1) for k, v in lines.items()})
        m = float(lines["E"]["margin"][a] / lines["E"]["volume"][a])
        ta = float(basis.touched["actual"][a, weeks].sum())
        te = float(basis.touched["expected"][a, weeks].sum())
        rate = float(basis.trend[a])
        performed = (ta - rate * te) * m
        gap = float(lines["A"]["volume"][a] - lines["E"]["volume"][a]) * m
        print(f"run rate {rate:.4f}, m {m:.2f}, touched actual {ta:,.1f} expected {te:,.1f}, under/over "
              f"{ta - rate * te:,.1f} cases = {performed:,.0f} CNY, volume gap x m {gap:,.0f}")
        none = float(basis.volume["none"][a].sum())
        print(f"Carrefour without promotions {none:,.0f} cases ({none / 226000 - 1:+.1%} against last year's 226,000)")
        share = float(lines["P"]["volume"][a]) / float(basis.volume["plan"][a].sum())
        print(f"growth so far: Q1 share of the plan {share:.4f}")

    def optimizer_size(self) -> None:
        """docs/optimizer.md: options, packages, variants."""
        import numpy as np

        from planner.compile.model import compile_rules
        from planner.optimize.options import build_options
        from planner.rules.scenario import resolve

        rules = resolve(ROOT / "scenarios/base.yaml", []).rules
        options = build_options(rules, compile_rules(rules))
        print("options", len(options), "columns", options.columns, "packages", len(options.packages), "variants",
              len(options.variants), "options with variants", len(np.unique(options.column_option[options.variants])))

    def approval(self) -> None:
        print(self.text("diff12")[:600])

    @staticmethod
    def solved(o: Any) -> None:
        """A result's status, objective, bound and gap, its prediction against the simulation, stages, as quoted."""
        gap = "" if o.get("gap") is None else f", gap {o['gap'] * 100:.3f} %"
        objective = "" if o.get("objective") is None else f", objective {n(o['objective'])}"
        bound = "" if o.get("bound") is None else f", bound {n(o['bound'])}"
        print(f"{o.get('status')}{objective}{bound}{gap}")
        if o.get("predicted_profit") is not None and o.get("simulated_profit") is not None:
            predicted, simulated = o["predicted_profit"], o["simulated_profit"]
            print(f"predicted vs simulated {n(predicted)} vs {n(simulated)}: {(predicted / simulated - 1) * 100:+.3f} %")
        print("time", ", ".join(f"{k} {v:.1f} s" for k, v in (o.get("time") or {}).items()))

    def replan(self) -> None:
        rp = self.load("replan")
        self.solved(rp)
        for key in ("no_promotions", "scenario_calendar"):
            versus = rp["versus"][key]
            print(f"vs {key}: {versus['gain']:+,.0f} ({versus['relative']:+.1%})")
        print({k: rp.get(k) for k in ("status", "objective", "bound", "gap", "time", "versus", "predicted_profit",
                                       "simulated_profit")})

    def refit(self) -> None:
        print(self.text("refit")[:8000])

    def optimize(self, name: str) -> None:
        o = self.load(name)
        if o is None:
            return
        keys = ("status", "objective", "bound", "gap", "time", "budget_dual", "predicted_profit", "simulated_profit",
                "difference", "rebates", "versus", "frontier", "frontier_check", "size", "violations")
        print(json.dumps({k: o.get(k) for k in keys}, default=str))
        self.solved(o)
        vividness = o.get("vividness", [])
        bought = [v for v in vividness if v.get("bought")]
        print("vividness bought", [(v["item"], v["account"], round(v["fee"])) for v in bought], "of",
              len(vividness), "offered", n(sum(v["fee"] for v in vividness)))
        print("events", len(o["plan"]), "event weeks", sum(len(e["weeks"]) for e in o["plan"]))
        for key in ("no_promotions", "scenario_calendar"):
            versus = o["versus"][key]
            print(f"vs {key}: {versus['gain']:+,.0f} ({versus['relative']:+.1%}), "
                  f"budget used {versus['budget_used']:,.0f}")
        totals = o.get("totals") or {}
        if "budget_used" in totals:
            print("plan budget used", n(totals["budget_used"]))
        for point in o.get("frontier") or []:
            print("frontier", {k: point[k] for k in ("budget", "status", "objective", "gap", "spend", "seconds")})
        if name == "optimize_frontier" and (check := self.load("optimize_frontier_check")) is not None:
            c = next(x for x in check["accounts"] if x["id"] == "carrefour")
            print("simulate --plan gross profit", n(check["totals"]["gross_profit"]), "carrefour", n(c["volume"], 1),
                  f"{check['growth']['carrefour'] * 100:+.4f} %")

    def infeasible(self) -> None:
        print(self.text("infeasible")[:3000])

    def times(self) -> None:
        print((self.out / "times.txt").read_text(encoding="utf-8"))

    def sections(self) -> Iterator[tuple[str, Callable[[], None]]]:
        yield "calibrate (--holdout 0): the recovery table, the file's counts", self.calibrate
        yield "backtest (--holdout 26)", self.backtest
        yield "simulate base (deterministic totals)", self.simulate
        yield "Monte Carlo P10-P90 widths, before (no three spreads) -> after, --draws 500 --seed 0", self.monte_carlo
        yield "review: Carrefour's growth outlook and the Q1 variance", self.review
        yield "docs/review.md worked example (the review's basis, weeks 1-13)", self.worked_example
        yield "optimizer size (docs/optimizer.md: options, packages, variants)", self.optimizer_size
        yield "approval: plan diff (+1 pt Carrefour growth rebate)", self.approval
        yield "re-plan (optimize --from-actuals --through 13 --time-limit 300)", self.replan
        yield "refit (Q1 actuals added)", self.refit
        for name in ("optimize", "optimize_limit5", "optimize_frontier"):
            yield name, lambda name=name: self.optimize(name)  # type: ignore[misc]
        yield "infeasible", self.infeasible
        yield "times", self.times


class Tee:
    """Writes to the screen and a file at once (the figures go to both)."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def figures(out: Path) -> None:
    """Every section of the figures; one that fails prints its traceback and the others still print."""
    reader = Reader(out)
    with (out / "figures.txt").open("w", encoding="utf-8") as file:
        stdout = sys.stdout
        sys.stdout = Tee(stdout, file)
        try:
            for title, section in reader.sections():
                print(f"\n## {title}")
                try:
                    section()
                except Exception:  # noqa: BLE001 - one section's failure must not hide the others
                    traceback.print_exc(file=sys.stdout)
        finally:
            sys.stdout = stdout


# ---- 14. (--before) The demo calibrate's cost, a commit's planner/ against the working tree's ----

def before_after(run: Cascade, commit: str) -> None:
    out = run.out
    archive = subprocess.run(["git", "archive", commit, "planner"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(out / "before", filter="data")
    (out / "after").mkdir()
    for _ in range(ROUNDS):
        for side in ("before", "after"):
            for threads in ("1", "default"):
                env = {**run.env, **(ONE_THREAD if threads == "1" else {})}
                # before: its own planner/ in the cwd, first on the path; after: the working tree's
                env["PYTHONPATH"] = "" if side == "before" else str(ROOT)
                command = ("python", "-c", STAGE, "calibrate", f"{ROOT}/rules/", f"{ROOT}/history/demo-sales.csv",
                           "--holdout", "0", "--out", f"{out}/{side}/cal")
                stderr_path = out / side / "stage.err"
                with open(os.devnull, "w") as devnull, stderr_path.open("w") as stderr:
                    code, wall, user, system, _ = run.run(command, devnull, stderr, env, cwd=out / side)
                last = stderr_path.read_text(encoding="utf-8").strip().splitlines()[-1:]
                line = (f"{side} threads={threads}: {wall:.2f} s wall, {user:.2f}+{system:.2f} s CPU, exit {code} "
                        f"{' '.join(last)} (load {os.getloadavg()[0]:.2f})")
                print(line, flush=True)
                with (out / "cost.txt").open("a", encoding="utf-8") as cost:
                    cost.write(line + "\n")


# ---- 15. (--tests) The tests docs/calibration.md names, PostgreSQL included ----

def tests(run: Cascade) -> None:
    subprocess.run(["bash", ".ci/postgres", "start"], cwd=ROOT, env=run.env, stdout=subprocess.DEVNULL, check=False)
    run.env["PLANNER_TEST_POSTGRES_URL"] = POSTGRES_URL
    run.env.pop("PLANNER_DB", None)
    code = run.step("tests", "python", "-m", "pytest", "-q", "-o", "addopts=", *TESTS)
    summary = (run.out / "tests.out").read_text(encoding="utf-8").strip().splitlines()[-3:]
    for line in summary:
        run.log(f"   {line}")
    if code:
        run.log(f"   the tests failed (exit {code}): {run.out}/tests.out")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/demo-figures"),
                        help="folder for every output (emptied first; default /tmp/demo-figures)")
    parser.add_argument("--tests", action="store_true", help="also run the tests docs/calibration.md names")
    parser.add_argument("--before", metavar="COMMIT", help="also time the demo calibrate at COMMIT against now")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    os.chdir(ROOT)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run = Cascade(out)
    changed = len(git("status", "--porcelain").splitlines())
    run.log(f"git {git('rev-parse', '--short', 'HEAD')} (working tree: {changed} changed files), "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    start = time.perf_counter()
    cascade(run)
    run.log(f"   the commands: {run.wall:.0f} s wall, {run.cpu:.0f} s CPU")
    figures(out)
    print(f"\nfigures: {out}/figures.txt", flush=True)
    if args.before:
        before_after(run, args.before)
    if args.tests:
        tests(run)
    run.log(f"done {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {time.perf_counter() - start:.0f} s wall, "
            f"load {load_average()}")


if __name__ == "__main__":
    main()
