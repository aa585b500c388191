"""The rule checker: consistency checks over a merged rule set, each in its own small module.

`run_checks` is what `planner validate` runs after loading. Every check is a pure function
`RuleSet -> list[Finding]`; a check never raises on a rule set that loaded (a crash would be a bug, and is
reported as finding PP999 rather than a traceback, so CI output stays readable).
"""

from __future__ import annotations

from collections.abc import Callable

from planner.check.references import check_references
from planner.rules.findings import INTERNAL_ERROR, Finding, Location, finding
from planner.rules.schema import RuleSet

Check = Callable[[RuleSet], list[Finding]]


def all_checks() -> list[Check]:
    return [check_references]


def run_checks(rules: RuleSet) -> list[Finding]:
    findings: list[Finding] = []
    for check in all_checks():
        try:
            findings.extend(check(rules))
        except Exception as error:  # noqa: BLE001 - a checker bug must not hide the other findings
            where = Location(rules.files[0] if rules.files else "<rules>", 1, 1)
            findings.append(finding(INTERNAL_ERROR, f"internal error in {check.__name__}: {error!r}", where,
                                    fix="please report this as a bug, with the rule files"))
    return findings
