"""Cascade control (issue 15, part 4): findings an earlier finding caused are folded into one note under it.

The issue's case is the demo's rules with one duplicate key in products.yaml: the file does not load, and ~290
references to its products, categories and brands used to bury the one real finding. Here that case, in every
report format, and the rules the fold keeps: a reference no failed file or refused object explains is still
reported on its own, and the note counts exactly what it folds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from planner.check import run_checks
from planner.check.cascade import written_ids
from planner.check.context import SHOWN
from planner.cli import main
from planner.rules.findings import Finding, Severity
from planner.rules.load import build_rule_set, load_documents, rule_files
from planner.validate import validate

DEMO = Path(__file__).resolve().parent.parent / "rules"
DUPLICATE = ("  - {id: cola-330-can, name: Cola 330ml can,", "  - {id: cola-330-can, name: x, name: Cola 330ml can,")


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's rules with one duplicate key in products.yaml, the working directory above them."""
    shutil.copytree(DEMO, tmp_path / "rules")
    products = tmp_path / "rules" / "products.yaml"
    text = products.read_text(encoding="utf-8")
    assert DUPLICATE[0] in text
    products.write_text(text.replace(DUPLICATE[0], DUPLICATE[1], 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return Path("rules")


def _unfolded_references(folder: Path) -> list[Finding]:
    """The PP201 findings the checker gives on the files that did load, before any folding."""
    files, _ = rule_files(folder)
    documents, _ = load_documents(files)
    rules, _ = build_rule_set(documents)
    return [f for f in run_checks(rules) if f.code == "PP201"]


def test_one_duplicate_key_gives_one_error_and_one_note(demo: Path) -> None:
    report = validate([demo])
    assert [(f.code, f.severity) for f in report.findings] == [("PP102", Severity.ERROR), ("PP205", Severity.NOTE)]
    error, note = report.findings
    assert note.location == error.location  # the note sits at the finding that caused it
    references = _unfolded_references(demo)
    unfolded, places = len(references), len({f.location for f in references})
    assert unfolded >= 250  # the issue counted ~290 on the demo
    assert note.example["folded"] == unfolded == report.folded
    assert note.example["codes"] == {"PP201": unfolded}
    assert note.message == f"and {unfolded} references to ids in rules/products.yaml, which did not load"
    assert len(note.related) == SHOWN and note.example["related_not_shown"] == places - SHOWN
    assert len(note.example["ids"]) == SHOWN and note.example["ids_not_shown"] > 0
    assert (report.errors, report.warnings, report.notes, report.exit_code()) == (1, 0, 1, 1)


def test_a_reference_the_failed_file_does_not_explain_is_still_reported(demo: Path) -> None:
    (demo / "typo.yaml").write_text(
        "discounts:\n  - {id: typo-deal, applies_to: {product: cola-330-cann}, percent: 1%}\n", encoding="utf-8")
    report = validate([demo])
    alone = [f for f in report.findings if f.code == "PP201"]
    assert len(alone) == 1 and "cola-330-cann" in alone[0].message
    assert [f.code for f in report.findings if f.code != "PP201"] == ["PP102", "PP205"]


def test_every_format_shows_the_note(demo: Path) -> None:
    def run(fmt: str) -> str:
        result = CliRunner().invoke(main, ["validate", str(demo), "--format", fmt])
        assert result.exit_code == 1, result.output
        return result.stdout

    text = run("text")
    assert sum(": error PP201 " in line for line in text.splitlines()) == 0
    assert [line.split(" ")[1:3] for line in text.splitlines() if not line.startswith((" ", "1 error"))] == [
        ["error", "PP102"], ["note", "PP205"]]
    loaded = len(list(demo.glob("*.yaml"))) - 1  # all but products.yaml
    assert text.splitlines()[-1].startswith(f"1 error, 1 note in {loaded} files")
    assert "the notes fold" in text.splitlines()[-1]
    document = json.loads(run("json"))
    folded = document["findings"][1]["example"]["folded"]
    assert [f["severity"] for f in document["findings"]] == ["error", "note"]
    assert document["summary"] == {"errors": 1, "warnings": 0, "files": loaded, "rules": document["summary"]["rules"],
                                   "notes": 1, "folded": folded}
    github = [line for line in run("github").splitlines() if line.startswith("::")]
    assert [line.split(" ", 1)[0] for line in github] == ["::error", "::notice"]
    sarif = json.loads(run("sarif"))["runs"][0]
    assert [(r["ruleId"], r["level"]) for r in sarif["results"]] == [("PP102", "error"), ("PP205", "note")]
    assert len(sarif["results"][1]["relatedLocations"]) == SHOWN
    junit = ElementTree.fromstring(run("junit"))
    assert junit.get("failures") == "1"  # the note is not a failure
    outs = [case.findtext("system-out") or "" for case in junit.iter("testcase")]
    assert sum("note PP205" in out for out in outs) == 1


def test_written_ids_reads_block_flow_and_quoted_ids() -> None:
    text = ("company: {name: X}\nproducts:\n  - id: a-1\n    name: A\n  - {id: 'b-2', brand: c}\n"
            "  - {name: y, id: \"c-3\"}\nbrands: [{id: d-4}, {id: e-5}]\n  - {product_id: not-an-id}\n")
    ids, sections = written_ids(text)
    assert ids == {("products", "a-1"), ("products", "b-2"), ("products", "c-3"), ("brands", "d-4"),
                   ("brands", "e-5")}
    assert sections == {"company", "products", "brands"}


def test_a_refused_object_folds_only_references_to_its_own_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two products, one refused by the schema: references to it fold under its PP111, the other loads."""
    shutil.copytree(DEMO, tmp_path / "rules")
    products = tmp_path / "rules" / "products.yaml"
    text = products.read_text(encoding="utf-8")
    products.write_text(text.replace("list_price: 62, cogs: 36}", "list_price: sixty-two, cogs: 36}", 1),
                        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    report = validate([Path("rules")])
    assert [f.code for f in report.findings] == ["PP111", "PP205"]
    note = report.findings[1]
    assert note.location == report.findings[0].location
    assert note.message.endswith("to 'cola-330-can' (products), which the schema refused")
    assert note.example["ids"] == ["cola-330-can"] and note.example["folded"] == len(_unfolded_references(Path("rules")))


def test_calibrate_folds_as_validate_does(demo: Path) -> None:
    """`planner calibrate` refuses broken rules with the same lines `validate` gives: the failed file's error and
    one PP205 note, not the references it caused one by one."""
    history = DEMO.parent / "history" / "demo-sales.csv"
    expected = [f"{f.location}: {f.code} {f.message}" for f in validate([demo]).findings]
    assert [line.split(": ")[1].split()[0] for line in expected] == ["PP102", "PP205"]
    result = CliRunner().invoke(main, ["calibrate", str(demo), str(history), "--holdout", "0"])
    assert result.exit_code == 1
    printed = [line for line in result.output.splitlines() if ": PP" in line]
    assert printed == expected
    assert "1 error(s) in the rules" in result.output
