"""The demo's demand (rules/calibrated.yaml: seasonality, baselines, response) is what `planner calibrate` fits to
the demo's history (history/demo-sales.csv) with the command history/README.md documents.

The whole fit runs here (about 10 s of CPU on the demo's 14,560 rows), in a copy of the demo, with that exact
command line, and its file is compared with the committed one: the provenance header line by line (the data's
sha256 is the committed history's, the window and rows are the history's), the rule sections value by value.
Numbers are compared to 2e-4 (the file keeps 4 decimals): the fit stops at a convergence tolerance, so another
machine's BLAS may move a value across a rounding boundary; the optimizer's iteration count is not compared (it
is how the fit got there, not what it found). When the estimation code changes the fit, this test fails: re-run
the documented command and commit the new rules/calibrated.yaml with the re-measured demo figures.
"""

from __future__ import annotations

import hashlib
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from planner.rules.findings import SINGLETON_MISSING
from planner.rules.load import load_rules

REPO = Path(__file__).resolve().parent.parent
CALIBRATED = REPO / "rules" / "calibrated.yaml"
HISTORY = REPO / "history" / "demo-sales.csv"
TOLERANCE = 2e-4
UNCOMPARED = ("fit iterations",)


def documented_command() -> tuple[list[str], list[str]]:
    """history/README.md's one line: `planner calibrate ... && cp <out>/calibrated.yaml rules/calibrated.yaml`."""
    text = (REPO / "history" / "README.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("planner calibrate rules/"))
    calibrate, copy = (shlex.split(part) for part in line.split("&&"))
    return calibrate, copy


def header(text: str) -> dict[str, str]:
    """The provenance comment block: `# key: value` lines before the first blank comment line."""
    out = {}
    for line in text.splitlines():
        if line == "#":
            break
        key, _, value = line.removeprefix("# ").partition(": ")
        out[key] = value
    return out


def same(found: Any, expected: Any, where: str = "") -> list[str]:
    """Where two parsed YAML documents differ (numbers beyond TOLERANCE, anything else at all)."""
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        if isinstance(expected, dict) and isinstance(found, dict):
            if list(found) != list(expected):
                return [f"{where}: keys {list(found)} != {list(expected)}"]
            return [d for key in expected for d in same(found[key], expected[key], f"{where}.{key}")]
        if isinstance(expected, list) and isinstance(found, list):
            if len(found) != len(expected):
                return [f"{where}: {len(found)} items != {len(expected)}"]
            return [d for i, (f, e) in enumerate(zip(found, expected, strict=True)) for d in same(f, e, f"{where}[{i}]")]
        return [] if found == expected else [f"{where}: {found!r} != {expected!r}"]
    if isinstance(found, bool) or not isinstance(found, int | float):
        return [f"{where}: {found!r} is not a number ({expected!r})"]
    return [] if math.isclose(found, expected, rel_tol=TOLERANCE, abs_tol=TOLERANCE) else [f"{where}: {found} != {expected}"]


def run_documented_command(demo: Path, environment: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """The documented command run in `demo`, a copy of the demo: (the file it wrote, the command, the copy step)."""
    calibrate, copy = documented_command()
    shutil.copytree(REPO / "rules", demo / "rules")
    (demo / "history").mkdir()
    shutil.copy(HISTORY, demo / "history" / HISTORY.name)
    assert calibrate[:2] == ["planner", "calibrate"]
    done = subprocess.run([sys.executable, "-m", "planner", *calibrate[1:]], cwd=demo, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO), **environment},
                          check=False)
    assert done.returncode == 0, done.stderr
    out = Path(calibrate[calibrate.index("--out") + 1])
    return (demo / out / "calibrated.yaml").read_text(encoding="utf-8"), calibrate, copy


@pytest.fixture(scope="module")
def refitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str], list[str]]:
    return run_documented_command(tmp_path_factory.mktemp("demo"), {})


def test_the_documented_command_writes_the_demos_calibrated_rules(refitted: tuple[str, list[str], list[str]]) -> None:
    _, calibrate, copy = refitted
    out = calibrate[calibrate.index("--out") + 1]
    assert copy == ["cp", f"{out}/calibrated.yaml", "rules/calibrated.yaml"]
    assert calibrate[2:4] == ["rules/", "history/demo-sales.csv"] and "--holdout" in calibrate


def test_the_provenance_names_the_committed_history_and_the_command(refitted: tuple[str, list[str], list[str]]) -> None:
    fresh, calibrate, _ = refitted
    committed = header(CALIBRATED.read_text(encoding="utf-8"))
    frame = pd.read_csv(HISTORY, usecols=["week"])
    assert committed["data"] == f"history/demo-sales.csv sha256 {hashlib.sha256(HISTORY.read_bytes()).hexdigest()}"
    assert committed["window"] == f"{frame['week'].min()} .. {frame['week'].max()} ({len(frame)} rows)"
    assert committed["command"] == shlex.join(calibrate)
    found = header(fresh)
    assert list(found) == list(committed)
    for key, value in committed.items():
        if key in UNCOMPARED:
            continue
        if key.startswith("fit ") and key != "fit series" and key != "fit categories":
            assert math.isclose(float(found[key]), float(value), rel_tol=TOLERANCE), key
        else:
            assert found[key] == value, key


def test_the_rule_sections_are_the_fit(refitted: tuple[str, list[str], list[str]]) -> None:
    fresh, _, _ = refitted
    differences = same(yaml.safe_load(fresh), yaml.safe_load(CALIBRATED.read_text(encoding="utf-8")))
    assert differences == [], (f"rules/calibrated.yaml is not what history/README.md's command fits now "
                               f"({len(differences)} differences, first: {differences[:5]}): re-run it")


def test_the_fit_does_not_depend_on_the_blas_thread_count(tmp_path: Path) -> None:
    """Another machine rounds differently; one BLAS thread instead of several is the nearest stand-in here. The
    fit itself runs on one BLAS thread (`fit()`), and converges tightly enough that two threads wrote the same
    values too (the tolerances' comment in estimate.py); this holds the whole command, the fit and everything
    around it, to the committed values when the environment asks for one thread."""
    single = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    fresh, _, _ = run_documented_command(tmp_path, single)
    differences = same(yaml.safe_load(fresh), yaml.safe_load(CALIBRATED.read_text(encoding="utf-8")))
    assert differences == [], f"{len(differences)} differences with one BLAS thread, first: {differences[:5]}"


def test_the_demo_demand_is_the_calibrated_file_alone() -> None:
    """No hand-typed profile, baseline or season elsewhere in rules/ adds to or overrides the calibrated demand."""
    demo = load_rules([REPO / "rules"]).rules
    alone = load_rules([CALIBRATED])
    assert {f.code for f in alone.findings} <= {SINGLETON_MISSING.code}
    for section in ("seasonality", "baselines", "response"):
        assert demo.section(section) == alone.rules.section(section), section
