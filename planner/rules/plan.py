"""Plan files: a promotion calendar that `planner simulate --plan FILE` evaluates and `planner optimize` writes.

    plan:
      scenario: base-2027            # the scenario it was made for (informative)
      source: optimizer              # who made it: a planner, or the optimizer
      label: Q1 revision             # optional: the title `planner plan submit --plan` gives its version
      events:
        - {id: e1, account: carrefour, product_group: cola-cans, mechanic: tpr-20, weeks: [12, 13]}
        - {id: e2, account: jd, product_group: water, mechanic: tpr-20, weeks: [45], depth: 25%, funding: 80%}
      vividness:                     # optional: where each listed shelf target, display, cooler is bought
        - {id: st-hyper-water, accounts: [walmart]}

Events have exactly the shape of the rule files' `events` (docs/rules.md), so a plan can be pasted into the rules
and back. A plan replaces the scenario's unlocked events; every locked event of the rules must be in it (same
account, product group, mechanic and weeks), or the plan is refused. `vividness` buys each listed item at exactly
the accounts listed (a subset of its scope; none: not bought); unlisted items are bought as the rules write them
(planner/rules/vividness.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError

from planner.rules.findings import SCHEMA_INVALID, Finding, finding
from planner.rules.load import display_name, locate, schema_findings
from planner.rules.schema import Event, RuleSet
from planner.rules.schema.common import Id, RuleModel
from planner.rules.source import load_yaml
from planner.rules.vividness import Bought, buy


class Purchase(RuleModel):
    """One vividness item of the rules and the accounts a plan buys it at."""

    id: Id
    """A shelf target, display or cooler of the rules."""
    accounts: tuple[Id, ...] = ()
    """Accounts it is bought at, within its scope; empty: not bought."""


class PlanSpec(RuleModel):
    """The `plan:` mapping of a plan file."""

    scenario: str = ""
    source: str = "planner"
    label: str = ""
    events: tuple[Event, ...] = Field(default=())
    vividness: tuple[Purchase, ...] = Field(default=())


@dataclass
class Plan:
    file: str
    events: list[Event]
    scenario: str = ""
    source: str = "planner"
    findings: list[Finding] = field(default_factory=list)
    vividness: tuple[Purchase, ...] = ()
    label: str = ""

    @property
    def bought(self) -> Bought:
        """Item id -> accounts, for the items the plan lists."""
        return {purchase.id: purchase.accounts for purchase in self.vividness}

    def rules(self, rules: RuleSet) -> RuleSet:
        """The rules the plan runs with: its vividness bought (planner/rules/vividness.py)."""
        return buy(rules, self.bought)


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
    return Plan(name, list(spec.events), spec.scenario, spec.source, vividness=spec.vividness, label=spec.label)


def plan_yaml(events: list[Event], scenario: str, source: str, vividness: Bought | None = None,
              label: str = "") -> str:
    """Write a plan file (flow-style events and purchases, one per line, for readable diffs)."""
    lines = ["plan:", f"  scenario: {scenario}", f"  source: {source}", "  events:"]
    if label:
        lines.insert(3, f"  label: {json.dumps(label, ensure_ascii=False)}")
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
    if vividness is not None:
        lines.append("  vividness:" if vividness else "  vividness: []")
        lines.extend(f"    - {{id: {item}, accounts: [{', '.join(accounts)}]}}" for item, accounts in vividness.items())
    return "\n".join(lines) + "\n"
