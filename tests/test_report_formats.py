"""Each report format must be readable by the tool it is written for, with no finding dropped or garbled."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest

from planner.report.findings import FORMATS, escape_data, escape_property, render
from planner.rules.findings import (
    CODES,
    INTERNAL_ERROR,
    PRICE_FLOOR_BREACH,
    SCHEMA_UNKNOWN_KEY,
    TIER_GAP,
    Location,
    finding,
)
from planner.validate import Report

ANNOTATION = re.compile(r"^::(error|warning) file=[^,:]+,line=\d+,col=\d+,title=PP\d{3}::[^\r\n]*$")


@pytest.fixture
def report() -> Report:
    """Two files with two errors and a warning, plus a finding that has no real file (a checker bug)."""
    findings = [
        finding(SCHEMA_UNKNOWN_KEY, "unknown key 'percnt'; did you mean 'percent'?",
                Location("rules/discounts.yaml", 5, 5, "discounts[0].percnt"), fix="rename it to 'percent'"),
        finding(PRICE_FLOOR_BREACH, "dead-net 1.80 is 10% below the floor\nof 2.00",
                Location("rules/pricing, 2027.yaml", 12, 3, "price_floors[0]"),
                related=[Location("rules/discounts.yaml", 8, 5)],
                example={"account": "tesco", "week": 14}, fix="lower discount 'spring' to 5%"),
        finding(TIER_GAP, "tiers leave a gap between 100 and 200", Location("rules/discounts.yaml", 20, 7)),
        finding(INTERNAL_ERROR, "internal error in check_x", Location("<unknown>", 1, 1)),
    ]
    return Report(findings, ["rules/discounts.yaml", "rules/pricing, 2027.yaml", "rules/clean.yaml"], 412)


def test_text_lists_each_finding_with_its_details_and_a_summary(report: Report) -> None:
    lines = render(report, "text").splitlines()
    assert lines[0] == "rules/discounts.yaml:5:5: error PP110 unknown key 'percnt'; did you mean 'percent'?"
    assert lines[1] == "    fix: rename it to 'percent'"
    assert "    example: account=tesco, week=14" in lines
    assert "    related: rules/discounts.yaml:8:5" in lines
    assert lines[-1] == "3 errors, 1 warning in 3 files (412 rules)"


def test_text_summary_of_a_clean_run_says_what_was_checked() -> None:
    assert render(Report([], ["rules/a.yaml"], 1), "text") == "no findings in 1 file (1 rule)"


def test_json_has_exactly_the_documented_shape(report: Report) -> None:
    document = json.loads(render(report, "json"))
    assert set(document) == {"findings", "summary"}
    assert document["summary"] == {"errors": 3, "warnings": 1, "files": 3, "rules": 412}
    keys = {"code", "severity", "message", "file", "line", "column", "path", "related", "example", "fix"}
    assert all(set(item) == keys for item in document["findings"])
    breach = document["findings"][1]
    assert breach["related"] == [{"file": "rules/discounts.yaml", "line": 8, "column": 5, "path": ""}]
    assert breach["example"] == {"account": "tesco", "week": 14}
    assert [item["severity"] for item in document["findings"]] == ["error", "error", "warning", "error"]


def test_github_escaping_follows_the_workflow_command_spec() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a: b, c%") == "a%3A b%2C c%25"


def test_github_writes_one_annotation_per_finding(report: Report) -> None:
    lines = render(report, "github").splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == len(report.findings)
    assert all(ANNOTATION.match(line) for line in annotations), annotations
    assert annotations[0].startswith("::error file=rules/discounts.yaml,line=5,col=5,title=PP110::")
    assert annotations[2].startswith("::warning ")
    breach = annotations[1]
    assert "file=rules/pricing%2C 2027.yaml," in breach
    assert "10%25 below the floor%0Aof 2.00%0Afix: lower discount 'spring' to 5%25" in breach
    assert lines[-1] == "3 errors, 1 warning in 3 files (412 rules)"


def test_sarif_locates_every_result_and_names_a_declared_rule(report: Report) -> None:
    document = json.loads(render(report, "sarif"))
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    [run] = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "promo-planner"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == list(CODES)
    assert driver["rules"][rule_ids.index("PP302")]["defaultConfiguration"]["level"] == "warning"
    results = run["results"]
    assert len(results) == len(report.findings)
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
    assert [result["level"] for result in results] == ["error", "error", "warning", "error"]
    breach = results[1]
    breach_file = breach["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert breach_file == "rules/pricing%2C%202027.yaml"
    assert breach["message"]["text"].endswith("fix: lower discount 'spring' to 5%")
    assert breach["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 8, "startColumn": 5}
    assert breach["properties"]["example"] == {"account": "tesco", "week": 14}
    # the checker bug has no file of its own: it is pinned to a checked file rather than dropped
    assert results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rules/discounts.yaml"


def _junit(report: Report, fail_on_warn: bool = False) -> ElementTree.Element:
    return ElementTree.fromstring(render(report, "junit", fail_on_warn))


def test_junit_has_a_testcase_per_file_and_a_failure_per_error(report: Report) -> None:
    root = _junit(report)
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "planner validate"
    cases = {case.get("classname"): case for case in suite.findall("testcase")}
    assert list(cases) == ["rules/discounts.yaml", "rules/pricing, 2027.yaml", "rules/clean.yaml", "<unknown>"]
    assert len(root.findall(".//failure")) == 3
    for element in (root, suite):
        assert element.get("tests") == "4" and element.get("failures") == "3" and element.get("errors") == "0"
    discounts = cases["rules/discounts.yaml"]
    [failure] = discounts.findall("failure")
    assert failure.get("type") == "PP110"
    assert failure.get("message") == "rules/discounts.yaml:5:5: unknown key 'percnt'; did you mean 'percent'?"
    assert "PP302" in (discounts.findtext("system-out") or "")
    assert not list(cases["rules/clean.yaml"]), "a clean file is a passing testcase"
    [breach] = cases["rules/pricing, 2027.yaml"].findall("failure")
    assert "below the floor\nof 2.00" in (breach.get("message") or ""), "newlines survive the attribute"


def test_junit_counts_warnings_as_failures_under_fail_on_warn(report: Report) -> None:
    root = _junit(report, fail_on_warn=True)
    assert root.get("failures") == "4"
    assert {failure.get("type") for failure in root.iter("failure")} == {"PP110", "PP320", "PP302", "PP999"}
    assert root.find(".//system-out") is None


def test_a_clean_report_is_clean_in_every_format() -> None:
    clean = Report([], ["rules/a.yaml"], 1)
    outputs = {fmt: render(clean, fmt) for fmt in FORMATS}
    assert outputs["text"] == outputs["github"] == "no findings in 1 file (1 rule)"
    assert json.loads(outputs["json"]) == {
        "findings": [], "summary": {"errors": 0, "warnings": 0, "files": 1, "rules": 1}}
    assert json.loads(outputs["sarif"])["runs"][0]["results"] == []
    junit = ElementTree.fromstring(outputs["junit"])
    assert (junit.get("tests"), junit.get("failures")) == ("1", "0")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render(Report([]), "xml")
