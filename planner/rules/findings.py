"""Findings: what the loader and the checker report about rule files.

Every problem in a rule file, from a stray tab to a price floor that a legal discount stack breaks, is a
`Finding` with a stable code, a severity, the 1-based file:line:column of every object involved, a concrete
example that exhibits it and a fix a person can act on. Nothing raises past the loader: problems are collected
and reported once, as a list (the habit of Calliope's exceptions module).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    """Not a problem of its own: a line that folds the findings an earlier finding caused (PP205)."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where something stands in a rule file: 1-based line and column, and its path inside the document."""

    file: str
    line: int
    column: int
    path: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


UNKNOWN_LOCATION = Location("<unknown>", 1, 1)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    location: Location
    related: tuple[Location, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.location.path,
            "related": [
                {"file": r.file, "line": r.line, "column": r.column, "path": r.path} for r in self.related
            ],
            "example": self.example,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class FindingKind:
    """A registered finding code: its default severity and one line on what it means (used by SARIF/JUnit)."""

    code: str
    severity: Severity
    title: str


CODES: dict[str, FindingKind] = {}


def _kind(code: str, severity: Severity, title: str) -> FindingKind:
    kind = FindingKind(code, severity, title)
    CODES[code] = kind
    return kind


E, W = Severity.ERROR, Severity.WARNING
# Loading and schema (PP1xx)
FILE_UNREADABLE = _kind("PP100", E, "file cannot be read")
YAML_SYNTAX = _kind("PP101", E, "YAML syntax error")
YAML_DUPLICATE_KEY = _kind("PP102", E, "duplicate key in a mapping")
YAML_FORBIDDEN_TAG = _kind("PP103", E, "YAML tag that is not plain data")
YAML_TOO_LARGE = _kind("PP104", E, "file, nesting or alias expansion over the safety limits")
SCHEMA_UNKNOWN_KEY = _kind("PP110", E, "unknown key")
SCHEMA_INVALID = _kind("PP111", E, "value does not fit the schema")
SCHEMA_MISSING = _kind("PP112", E, "required key missing")
SINGLETON_MISSING = _kind("PP113", E, "required section missing from the rule set")
SINGLETON_TWICE = _kind("PP114", E, "section defined in more than one file")
PATH_ESCAPES = _kind("PP115", E, "path leaves the rules folder")
NO_RULE_FILES = _kind("PP116", E, "no rule files found")
# References and identity (PP2xx)
DUPLICATE_ID = _kind("PP200", E, "duplicate id")
UNKNOWN_REFERENCE = _kind("PP201", E, "reference to an unknown id")
# Pricing and stacking (PP3xx)
TIERS_UNSORTED = _kind("PP300", E, "tiers not in ascending order")
TIERS_OVERLAP = _kind("PP301", E, "two tiers start at the same threshold")
TIER_GAP = _kind("PP302", W, "tiers leave a gap")
RATE_FALLS = _kind("PP303", W, "rate falls as volume rises")
RETROACTIVE_CLIFF = _kind("PP304", W, "retroactive tier costs more than the units to reach it earn")
EXCLUSIVE_OVERLAP = _kind("PP310", E, "two exclusive discounts live for the same cell")
SHADOWED_RULE = _kind("PP311", W, "discount never applies: shadowed by a higher-priority stop rule")
NEVER_APPLICABLE = _kind("PP312", W, "rule never applies: empty scope or dates outside the year")
STACKING_MIXED = _kind("PP313", E, "one discount group mixes stacking modes")
PRICE_FLOOR_BREACH = _kind("PP320", E, "worst-case legal stack puts dead-net below the price floor")
BELOW_COGS = _kind("PP321", E, "worst-case legal stack puts dead-net below cost of goods")
# Vividness, policy, calendar (PP4xx)
SHELF_OVER_100 = _kind("PP400", E, "shelf-share targets sum over 100%")
BUDGET_MINIMUMS_EXCEED = _kind("PP410", E, "account budget minimums exceed the budget")
CALENDAR_INFEASIBLE = _kind("PP420", E, "calendar rules cannot all hold")
LOCKED_EVENT_BREAKS_RULE = _kind("PP421", E, "a locked event breaks a calendar rule")
FEATURE_DEPTH = _kind("PP422", E, "feature/display mechanic shallower than the calendar rule allows")
WEEK_OUT_OF_YEAR = _kind("PP423", E, "week or quarter outside the fiscal year")
LOCKED_EVENT_DROPPED = _kind("PP424", E, "a plan drops a locked event")
VIVIDNESS_OUT_OF_SCOPE = _kind("PP425", E, "a plan buys vividness at an account outside its scope")
LOCKED_VIVIDNESS_DROPPED = _kind("PP426", E, "a plan drops locked vividness")
# Scenarios (PP5xx)
OVERRIDE_CONFLICT = _kind("PP500", E, "two overrides of one key in one layer")
OVERRIDE_UNKNOWN_TARGET = _kind("PP501", E, "override names an object or field that does not exist")
EXTENDS_CYCLE = _kind("PP502", E, "scenarios extend each other in a cycle")
INTERNAL_ERROR = _kind("PP999", E, "internal checker error (a bug: please report it)")
# Cross-rule checks of issue 15 (appended: codes stay stable)
DUPLICATE_HOLIDAY = _kind("PP202", E, "duplicate holiday id in the calendar")
MATCHES_NOTHING = _kind("PP314", W, "a holiday or product group matches nothing")
TOTAL_MINIMUM_ABOVE_MAXIMA = _kind("PP411", E, "a total-budget minimum above the maxima that contain it")
EVENT_COUNTS_CONFLICT = _kind("PP427", E, "an event_count minimum above another rule's maximum on the same line")
EVENTS_DOUBLE_BOOKED = _kind("PP428", E, "two events on one account x product group in one week")
EVENT_OUT_OF_SCOPE = _kind("PP429", E, "an event's mechanic is not allowed at its account, products or weeks")
# Locations of issue 15 (appended)
EXTENDS_MISSING = _kind("PP503", E, "a scenario extends a file that is missing or not a scenario")
# Cascade control of issue 15 (appended)
FOLDED = _kind("PP205", Severity.NOTE, "findings caused by an earlier finding, folded into one line")


def finding(
    kind: FindingKind,
    message: str,
    location: Location,
    *,
    related: tuple[Location, ...] | list[Location] = (),
    example: dict[str, Any] | None = None,
    fix: str = "",
    severity: Severity | None = None,
) -> Finding:
    return Finding(
        code=kind.code,
        severity=severity or kind.severity,
        message=message,
        location=location,
        related=tuple(related),
        example=example or {},
        fix=fix,
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.location.file, f.location.line, f.location.column, f.code))
