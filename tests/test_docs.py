"""The documentation stays true to the code."""

from pathlib import Path

from planner.rules.findings import CODES
from planner.rules.reference import BEGIN, END, reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_rules_reference_matches_schema() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    embedded = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert embedded == reference_markdown(), "docs/rules.md is stale: regenerate with `planner schema --markdown`"


def test_every_finding_code_is_documented() -> None:
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    missing = [code for code in CODES if code not in text]
    assert not missing, f"docs/checks.md does not describe {missing}"
