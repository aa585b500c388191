"""Render a `planner validate` report as text, JSON, GitHub annotations, SARIF 2.1.0 or JUnit XML.

Each format exists because a different reader consumes it: a person at a terminal (text), scripts (json), a
GitHub Actions log that turns lines into pull-request annotations (github), code-scanning dashboards (sarif) and
CI test tabs (junit). Every renderer is a pure function of the `Report`, so the command line, a notebook and a
test get byte-identical output, and nothing here touches the disk or the working directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from planner.rules.findings import CODES, Finding, Location, Severity
from planner.validate import Report

FORMATS = ("text", "json", "github", "sarif", "junit")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "promo-planner"
JUNIT_SUITE = "planner validate"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(report: Report) -> str:
    """One line a person reads first: how bad it is, and how much was checked (so an empty run is visible)."""
    parts = []
    if report.errors:
        parts.append(_plural(report.errors, "error"))
    if report.warnings:
        parts.append(_plural(report.warnings, "warning"))
    if report.notes:
        parts.append(_plural(report.notes, "note"))
    counts = ", ".join(parts) or "no findings"
    line = f"{counts} in {_plural(len(report.files), 'file')} ({_plural(report.rule_count, 'rule')})"
    if report.folded:
        line += f"; the notes fold {_plural(report.folded, 'finding')} caused by an earlier one"
    return line


def located(item: Finding) -> str:
    """`file:line:column: message`, the form editors and terminals turn into a clickable jump."""
    return f"{item.location}: {item.message}"


def _example_text(example: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in example.items())


def details(item: Finding) -> list[str]:
    """The fix, the concrete example and the other places involved: what a person needs to act."""
    lines = []
    if item.fix:
        lines.append(f"fix: {item.fix}")
    if item.example:
        lines.append(f"example: {_example_text(item.example)}")
    lines.extend(f"related: {where}" for where in item.related)
    return lines


# --- text ---------------------------------------------------------------------------------------------------

def render_text(report: Report) -> str:
    lines = []
    for item in report.findings:
        lines.append(f"{item.location}: {item.severity.value} {item.code} {item.message}")
        lines.extend(f"    {line}" for line in details(item))
    lines.append(summary_line(report))
    return "\n".join(lines)


# --- json ---------------------------------------------------------------------------------------------------

def render_json(report: Report) -> str:
    summary = {"errors": report.errors, "warnings": report.warnings, "files": len(report.files),
               "rules": report.rule_count}
    if report.notes:  # only when findings were folded, so a report without folds keeps its four keys
        summary.update(notes=report.notes, folded=report.folded)
    document = {"findings": [item.as_json() for item in report.findings], "summary": summary}
    # default=str: examples may hold dates or decimals; a report must never fail to print.
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


# --- github -------------------------------------------------------------------------------------------------

def escape_data(text: str) -> str:
    """Workflow-command data: `%` first, so the escapes it introduces are not escaped again."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Property values also delimit on `:` and `,`; unescaped, a path could end the command early."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


GITHUB_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
"""A note (a fold of findings an earlier one caused) is a `::notice` annotation: GitHub has no `::note`."""


def render_github(report: Report) -> str:
    """One `::error`/`::warning`/`::notice` command per finding; the fix and related places go on extra message
    lines."""
    lines = []
    for item in report.findings:
        where = item.location
        properties = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (("file", where.file), ("line", where.line), ("col", where.column),
                               ("title", item.code))
        )
        message = "\n".join([item.message, *details(item)])
        lines.append(f"::{GITHUB_COMMANDS[item.severity]} {properties}::{escape_data(message)}")
    lines.append(summary_line(report))
    return "\n".join(lines)


# --- sarif --------------------------------------------------------------------------------------------------

def _artifact_uri(file: str, fallback: str) -> str:
    """A relative URI reference; pseudo-files like `<unknown>` fall back to a real checked file.

    Code scanning drops results without a usable location, so a finding that has no file of its own (an
    internal error) is pinned to the first checked file rather than lost.
    """
    if file.startswith("<"):
        file = fallback
    return quote(file.replace("\\", "/"), safe="/:")


def _physical(where: Location, fallback: str) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": _artifact_uri(where.file, fallback)},
        "region": {"startLine": max(where.line, 1), "startColumn": max(where.column, 1)},
    }


def _sarif_rules(report: Report) -> list[dict[str, Any]]:
    """Every registered code, so a dashboard can show what each means; unknown codes are appended, not lost."""
    kinds = {code: (kind.title, kind.severity) for code, kind in CODES.items()}
    for item in report.findings:
        kinds.setdefault(item.code, (item.code, item.severity))
    return [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": title},
            "defaultConfiguration": {"level": severity.value},
        }
        for code, (title, severity) in kinds.items()
    ]


def _sarif_result(item: Finding, rule_index: int, fallback: str) -> dict[str, Any]:
    text = f"{item.message}\nfix: {item.fix}" if item.fix else item.message
    location: dict[str, Any] = {"physicalLocation": _physical(item.location, fallback)}
    if item.location.path:
        location["logicalLocations"] = [{"fullyQualifiedName": item.location.path, "kind": "member"}]
    result: dict[str, Any] = {
        "ruleId": item.code,
        "ruleIndex": rule_index,
        "level": item.severity.value,
        "message": {"text": text},
        "locations": [location],
    }
    if item.related:
        result["relatedLocations"] = [
            {"id": number, "physicalLocation": _physical(where, fallback), "message": {"text": str(where)}}
            for number, where in enumerate(item.related, start=1)
        ]
    if item.example:
        result["properties"] = {"example": item.example}
    return result


def render_sarif(report: Report) -> str:
    rules = _sarif_rules(report)
    index = {rule["id"]: number for number, rule in enumerate(rules)}
    fallback = report.files[0] if report.files else "."
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(item, index[item.code], fallback) for item in report.findings],
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


# --- junit --------------------------------------------------------------------------------------------------

def _checked_files(report: Report) -> list[str]:
    """Checked files in order, plus any file a finding names that was not itself loaded (so none is dropped)."""
    files = list(dict.fromkeys(report.files))
    files.extend(item.location.file for item in report.findings if item.location.file not in files)
    return list(dict.fromkeys(files))


def render_junit(report: Report, fail_on_warn: bool = False) -> str:
    """One testcase per file; error findings (and warnings under --fail-on-warn) are its failures.

    `failures` counts `<failure>` elements, one per failing finding, so the CI tab shows every problem.
    """
    failing = {Severity.ERROR, Severity.WARNING} if fail_on_warn else {Severity.ERROR}
    suites = ElementTree.Element("testsuites", name=JUNIT_SUITE)
    suite = ElementTree.SubElement(suites, "testsuite", name=JUNIT_SUITE)
    failures = 0
    files = _checked_files(report)
    for file in files:
        case = ElementTree.SubElement(suite, "testcase", classname=file, name=file, time="0")
        notes = []
        for item in (f for f in report.findings if f.location.file == file):
            if item.severity in failing:
                failure = ElementTree.SubElement(case, "failure", type=item.code, message=located(item))
                failure.text = "\n".join([f"{item.severity.value} {item.code} {located(item)}", *details(item)])
                failures += 1
            else:
                notes.append(f"{item.location}: {item.severity.value} {item.code} {item.message}")
        if notes:
            ElementTree.SubElement(case, "system-out").text = "\n".join(notes)
    totals = {"tests": str(len(files)), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    for element in (suites, suite):
        element.attrib.update(totals)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


# --- dispatch -----------------------------------------------------------------------------------------------

_RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}


def render(report: Report, fmt: str, fail_on_warn: bool = False) -> str:
    """Render `report` in `fmt` (one of FORMATS); only JUnit's pass/fail verdict depends on `fail_on_warn`."""
    if fmt == "junit":
        return render_junit(report, fail_on_warn)
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _RENDERERS[fmt](report)
