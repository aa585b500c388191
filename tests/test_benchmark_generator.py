"""The benchmark's rule-set generator writes what it promises: a valid, realistic set of about the size asked.

No timing here: benchmarks print their tables, the unit tests never assert wall-clock time (docs/STYLE.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from planner.rules.findings import Severity
from planner.validate import validate

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ sits next to the installed package, not inside it
    sys.path.insert(0, str(ROOT))
from benchmarks.generate import write_rule_set

REQUESTED = 300


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_rule_set_validates_without_errors(tmp_path: Path, seed: int) -> None:
    counts = write_rule_set(tmp_path, REQUESTED, seed=seed)
    report = validate([tmp_path])
    errors = [f"{f.code} {f.location.file}:{f.location.line} {f.message}" for f in report.findings
              if f.severity is Severity.ERROR]
    assert errors == []
    assert abs(report.rule_count - REQUESTED) <= REQUESTED * 0.10
    assert report.rule_count == sum(n for section, n in counts.items() if section not in ("company", "calendar"))


def test_generation_is_deterministic(tmp_path: Path) -> None:
    write_rule_set(tmp_path / "a", REQUESTED, seed=7)
    write_rule_set(tmp_path / "b", REQUESTED, seed=7)
    first = {p.relative_to(tmp_path / "a"): p.read_text() for p in (tmp_path / "a").rglob("*.yaml")}
    second = {p.relative_to(tmp_path / "b"): p.read_text() for p in (tmp_path / "b").rglob("*.yaml")}
    assert first == second


def test_mixes_every_rule_kind(tmp_path: Path) -> None:
    counts = write_rule_set(tmp_path, REQUESTED)
    for section in ("accounts", "products", "discounts", "rebates", "mechanics", "events", "calendar_rules",
                    "budgets", "price_floors", "shelf_targets", "displays", "coolers"):
        assert counts.get(section, 0) > 0, section
