"""Plan files: a promotion calendar that `planner simulate --plan FILE` evaluates and `planner optimize` writes.

    plan:
      scenario: base-2027            # the scenario it was made for (informative)
      source: optimizer              # who made it: a planner, or the optimizer
      events:
        - {id: e1, account: carrefour, product_group: cola-cans, mechanic: tpr-20, weeks: [12, 13]}
        - {id: e2, account: jd, product_group: water, mechanic: tpr-20, weeks: [45], depth: 25%, funding: 80%}

Events have exactly the shape of the rule files' `events` (docs/rules.md), so a plan can be pasted into the rules
and back. A plan replaces the scenario's unlocked events; every locked event of the rules must be in it (same
account, product group, mechanic and weeks), or the plan is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError

from planner.rules.findings import LOCKED_EVENT_DROPPED, SCHEMA_INVALID, Finding, Location, finding
from planner.rules.load import display_name, locate, schema_findings
from planner.rules.schema import Event, RuleSet
from planner.rules.schema.common import RuleModel
from planner.rules.source import load_yaml


class PlanSpec(RuleModel):
    """The `plan:` mapping of a plan file."""

    scenario: str = ""
    source: str = "planner"
    events: tuple[Event, ...] = Field(default=())


@dataclass
class Plan:
    file: str
    events: list[Event]
    scenario: str = ""
    source: str = "planner"
    findings: list[Finding] = field(default_factory=list)


def load_plan(path: Path) -> Plan:
    name = display_name(path)
    document, problems = load_yaml(path, name)
    if document is None:
        return Plan(name, [], findings=problems)
    data = document.data
    if not isinstance(data, dict) or set(data) != {"plan"}:
        return Plan(name, [], findings=[finding(SCHEMA_INVALID, "a plan file holds exactly one 'plan:' mapping",
                                                document.at(()), fix="put scenario, source and events under 'plan:'")])
    try:
        spec = PlanSpec.model_validate(data["plan"])
    except ValidationError as error:
        return Plan(name, [], findings=schema_findings(error, data["plan"], document, ("plan",), root=PlanSpec))
    locate(spec, document, ("plan",))
    return Plan(name, list(spec.events), spec.scenario, spec.source)


def check_plan(plan: Plan, rules: RuleSet) -> list[Finding]:
    """References resolve and every locked event of the rules is kept."""
    from planner.check.context import CheckContext
    from planner.check.references import check_references

    findings = check_references(CheckContext(rules.replace(events=tuple(plan.events))))
    kept = {(e.account, e.product_group, e.mechanic, tuple(sorted(e.weeks))) for e in plan.events}
    for event in rules.events:
        if event.locked and (event.account, event.product_group, event.mechanic, tuple(sorted(event.weeks))) not in kept:
            findings.append(finding(
                LOCKED_EVENT_DROPPED, f"the plan drops locked event '{event.id}' ({event.account}, "
                f"{event.product_group}, {event.mechanic}, weeks {list(event.weeks)})",
                Location(plan.file, 1, 1), related=[event.location], example={"event": event.id},
                fix="add the locked event to the plan unchanged, or unlock it in the rules"))
    return findings


def plan_yaml(events: list[Event], scenario: str, source: str) -> str:
    """Write a plan file (flow-style events, one per line, for readable diffs)."""
    lines = ["plan:", f"  scenario: {scenario}", f"  source: {source}", "  events:"]
    for event in events:
        parts = [f"id: {event.id}", f"account: {event.account}", f"product_group: {event.product_group}",
                 f"mechanic: {event.mechanic}", f"weeks: [{', '.join(str(w) for w in event.weeks)}]"]
        if event.locked:
            parts.append("locked: true")
        if event.depth is not None:
            parts.append(f"depth: {event.depth:.4%}")
        if event.funding is not None:
            parts.append(f"funding: {event.funding:.4%}")
        lines.append("    - {" + ", ".join(parts) + "}")
    if not events:
        lines[-1] = "  events: []"
    return "\n".join(lines) + "\n"
