"""`planner validate`: load rule files and scenarios, run every check, and summarise.

Paths may be rule files, rules folders, scenario files or scenario folders. Rule files (any YAML file without a
top-level `scenario:` key) are merged into one rule set and checked; every scenario file is resolved against its
own rules folder and checked too, and findings that only appear under a scenario say so.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from planner.check import run_checks
from planner.check.cascade import file_causes, fold, object_causes
from planner.rules.findings import (
    FILE_UNREADABLE,
    NO_RULE_FILES,
    Finding,
    Location,
    Severity,
    finding,
    sort_findings,
)
from planner.rules.load import build_rule_set, collect_files, display_name, load_documents
from planner.rules.scenario import is_scenario, resolve
from planner.rules.schema import ID_SECTIONS
from planner.rules.source import DEFAULT_LIMITS, Limits


@dataclass
class Report:
    findings: list[Finding]
    files: list[str] = field(default_factory=list)
    rule_count: int = 0
    scenarios: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def notes(self) -> int:
        return sum(f.severity is Severity.NOTE for f in self.findings)

    @property
    def folded(self) -> int:
        """Findings folded into the notes (PP205): caused by an earlier finding, not reported one by one."""
        return sum(int(f.example.get("folded", 0)) for f in self.findings if f.severity is Severity.NOTE)

    def exit_code(self, fail_on_warn: bool = False) -> int:
        """0 clean, 1 findings at error level (or warnings with fail_on_warn), 2 a file could not be read."""
        if any(f.code == FILE_UNREADABLE.code for f in self.findings):
            return 2
        return 1 if self.errors or (fail_on_warn and self.warnings) else 0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run, and back as it was afterwards.

    A run builds millions of objects that hold no reference cycle (every value of every rule file, the rule
    objects), which reference counting frees. The collector cannot know that: it passed over everything alive each
    time the objects had grown by a quarter, 3 s of CPU at 50,000 rules (a ninth of the run; measured with
    gc.callbacks). What the run leaves in cycles, if anything, is collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def validate(paths: list[Path], limits: Limits = DEFAULT_LIMITS) -> Report:
    files, findings = collect_files(paths)
    documents, problems = load_documents(files, limits)
    findings.extend(problems)
    scenario_docs = [d for d in documents if is_scenario(d)]
    rule_docs = [d for d in documents if not is_scenario(d)]
    rule_count = 0
    if rule_docs or not scenario_docs:
        if not files:
            where = display_name(paths[0]) if paths else "."
            findings.append(finding(NO_RULE_FILES, f"no rule files (*.yaml) in {where}", Location(where, 1, 1),
                                    fix="point at a rules folder or at .yaml files"))
        rules, problems = build_rule_set(rule_docs)
        findings.extend(problems)
        if rule_docs:
            findings.extend(run_checks(rules))
        rule_count = rules.rule_count
        named = {display_name(path): path for path in files}
        findings = fold(findings, file_causes(findings, named) + object_causes(findings, rule_docs, rules))
    seen = {(f.code, f.location, f.message) for f in findings}
    checked = [d.file for d in documents]
    scenario_rules: set[tuple[str, str, str]] = set()
    for document in scenario_docs:
        resolved = resolve(Path(document.file))
        checked.extend(resolved.chain)
        checked.extend(resolved.rules.files)
        scenario_rules.update((name, str(getattr(item, "id", "")), item.location.file)
                              for name in ID_SECTIONS for item in resolved.rules.section(name))
        scenario_findings = list(resolved.findings)
        if resolved.ok:
            scenario_findings.extend(run_checks(resolved.rules))
        for item in scenario_findings:
            key = (item.code, item.location, item.message)
            if key in seen:
                continue
            seen.add(key)
            if item.location.file != document.file:
                item = Finding(item.code, item.severity, f"{item.message} (under scenario {resolved.id})",
                               item.location, item.related + (Location(document.file, 1, 1),), item.example, item.fix)
            findings.append(item)
    if not rule_docs:  # scenarios alone: the rules they were checked with, each rule object once
        rule_count = len(scenario_rules)
    return Report(sort_findings(findings), list(dict.fromkeys(checked)), rule_count, [d.file for d in scenario_docs])
