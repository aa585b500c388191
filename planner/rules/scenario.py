"""Scenarios: a named what-if over a rules folder.

A scenario file holds one `scenario:` mapping. It names its rules folder, may `extends:` another scenario, sets
values by dotted path (`overrides:`), adds rule objects (`add:`) and sets run options. Precedence is explicit,
highest first (as Calliope's model_definition states it):

    command line (--set)  >  scenario  >  extended scenario (recursively)  >  rule files

Two overrides of one key in one layer (including a key and one of its sub-keys) are an error; an override of a
key set by a lower layer wins and is logged with both locations. Evaluating a scenario is a pure function of
(rule files, scenario files, command-line overrides).
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from planner.rules.findings import (
    EXTENDS_CYCLE,
    EXTENDS_MISSING,
    NO_RULE_FILES,
    OVERRIDE_CONFLICT,
    OVERRIDE_UNKNOWN_TARGET,
    SCHEMA_INVALID,
    SCHEMA_UNKNOWN_KEY,
    Finding,
    Location,
    finding,
)
from planner.rules.load import (
    build_rule_set,
    check_inside,
    display_name,
    load_documents,
    locate,
    model_at,
    rule_files,
    schema_findings,
    shown_value,
)
from planner.rules.schema import SECTIONS, RuleSet
from planner.rules.schema.common import Id, RuleModel
from planner.rules.schema.values import Number, WholeNumber
from planner.rules.source import DocPath, Document, load_yaml, parse_yaml


class ScenarioOptions(RuleModel):
    """Run options; every one can be set per scenario and on the command line (`--set options.draws=500`)."""

    draws: WholeNumber = Field(default=0, ge=0, le=1_000_000)
    """Monte Carlo draws (0 = deterministic)."""
    seed: WholeNumber = Field(default=2027, ge=0)
    """Random seed: the same seed gives identical results."""
    plan: str | None = None
    """A plan file (promotion calendar) to evaluate instead of the rules' own events."""
    objective: Literal["profit", "volume", "revenue"] = "profit"
    """What the optimizer maximises (volume and revenue keep a profit floor)."""
    time_limit: Number = Field(default=60.0, gt=0)
    """Optimizer time limit in seconds."""
    gap: Number = Field(default=0.001, ge=0, le=1)
    """Optimizer relative gap at which a plan counts as optimal."""
    vividness: Literal["decide", "keep"] = "decide"
    """Whether the optimizer decides which shelf-share targets, displays and coolers to buy at each account
    (`decide`), or keeps them as the rules write them (`keep`)."""


class ScenarioSpec(RuleModel):
    """One scenario file's `scenario:` mapping."""

    id: Id
    name: str = ""
    description: str = ""
    rules: str | None = None
    """Rules folder, relative to this file (inherited from the extended scenario; default '../rules')."""
    extends: str | None = None
    """Another scenario file, relative to this one."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Dotted path -> value, e.g. `budgets.total-2027.max: 10_800_000` or `rebates.x.tiers.1.rate: 3%`."""
    add: dict[str, Any] = Field(default_factory=dict)
    """Extra rule objects, in the same sections as a rule file."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Run options (see ScenarioOptions)."""


@dataclass(frozen=True)
class Override:
    path: str
    value: Any
    location: Location
    layer: str
    written: str | None = None
    """The value as typed when it was read as a number ('4.5M' for 4500000), so the log shows both."""

    @property
    def shown(self) -> str:
        """The value for the log of applied overrides: `4500000 (written 4.5M)`, or its repr."""
        return f"{self.value!r} (written {self.written})" if self.written is not None else repr(self.value)


@dataclass
class Resolved:
    """A scenario resolved against its rules: the rule set, run options, and what was applied in which order."""

    id: str
    name: str
    file: str
    rules: RuleSet
    options: ScenarioOptions
    findings: list[Finding] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    """Human-readable log of every override applied, highest layer last."""
    chain: list[str] = field(default_factory=list)
    """Scenario files from the most extended to this one."""

    @property
    def ok(self) -> bool:
        return not any(f.severity.value == "error" for f in self.findings)


def is_scenario(document: Document) -> bool:
    return isinstance(document.data, dict) and "scenario" in document.data


COMMAND_LINE = "<command line>"
"""The file name of every finding about a `--set` value: such a finding means the command cannot run (exit 2)."""
NUMBER_FORMS = ("4500000, 4,500,000, 4_500_000, 4.5M, 450k, 1.2B, 450万, 1.2亿, or 12% (= 0.12); "
                "decimals with a point (4.5M, not 4,5M)")
"""How a number may be written in `--set`, said whenever one cannot be read."""
_SCALES = {"k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6, "b": 10**9, "B": 10**9, "bn": 10**9,
           "万": 10**4, "亿": 10**8}
_PLANNER_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:_\d+)*(?:\.\d+)?|\.\d+)"
    r"\s*(?P<scale>bn|[kKmMbB万亿%])?$")


def read_number(text: str) -> int | float | None:
    """A number as planners type it: '4,500,000', '4_500_000', '4.5M', '450k', '1.2B', '450万', '1.2亿',
    '12%' (= 0.12). None when `text` is not written that way. Whole results are ints, so 4.5M is 4500000."""
    match = _PLANNER_NUMBER.match(text.strip())
    if match is None:
        return None
    try:
        value = Decimal(match["digits"].replace(",", "").replace("_", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal digits
        return None
    scale = match["scale"]
    value = value / 100 if scale == "%" else value * _SCALES[scale] if scale else value
    value = -value if match["sign"] == "-" else value
    return int(value) if value == value.to_integral_value() and scale != "%" else float(value)


def did_you_mean(word: str, choices: list[str]) -> str:
    """'; did you mean 'X'?' for the closest of `choices`, or '' when none is close."""
    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else ""


def parse_assignment(text: str, index: int) -> tuple[Override | None, Finding | None]:
    """`--set key=value`. The value is read as YAML (numbers, dates, lists, quoted text), and a value YAML reads
    as text but a planner means as a number is read as one: '4,500,000', '4.5M', '450万', '12%' (see read_number).
    Quote it to keep it text: --set 'products.x.name="4.5M"'."""
    where = Location(COMMAND_LINE, 1, index + 1, f"--set {text}")
    if "=" not in text:
        return None, finding(SCHEMA_INVALID, f"--set expects key=value, got {text!r}", where,
                             fix="write --set budgets.bud-total-2027.max=4.5M")
    key, raw = text.split("=", 1)
    document, problems = parse_yaml(raw.encode(), COMMAND_LINE)
    if problems or document is None:
        return None, finding(SCHEMA_INVALID, f"--set {key}: value {raw!r} is not valid YAML", where,
                             fix="quote the value")
    value = document.data
    number = read_number(value) if isinstance(value, str) and not raw.strip().startswith(("'", '"')) else None
    if number is not None:
        return Override(key.strip(), number, where, "command line", written=raw.strip()), None
    return Override(key.strip(), value, where, "command line"), None


def _how_to_write_numbers(findings: list[Finding]) -> list[Finding]:
    """A `--set` value a numeric field cannot read says exactly how numbers may be written."""
    return [replace(item, fix=f"write the number as {NUMBER_FORMS}")
            if item.location.file == COMMAND_LINE and item.code == SCHEMA_INVALID.code
            and re.search(r"valid (number|integer|float)|expected a (whole )?number", item.message) else item
            for item in findings]


def resolve(scenario_path: Path, command_line: list[str] | None = None) -> Resolved:
    """Resolve a scenario file (and its extends chain) against its rules folder."""
    findings: list[Finding] = []
    layers: list[tuple[str, list[Override]]] = []
    additions: list[Document] = []
    options: dict[str, tuple[Any, Location]] = {}
    chain: list[Path] = []
    specs: list[tuple[ScenarioSpec, Document]] = []
    path: Path | None = scenario_path
    written_in = Location(display_name(scenario_path), 1, 1)
    while path is not None:
        if path.resolve() in [p.resolve() for p in chain]:
            findings.append(finding(EXTENDS_CYCLE, "scenarios extend each other in a cycle: "
                                    + " -> ".join(display_name(p) for p in chain + [path]), written_in,
                                    fix="remove one 'extends' from the cycle"))
            break
        extended = bool(chain)
        if extended and not path.is_file():
            what = "is a folder, not a scenario file" if path.is_dir() else "does not exist"
            findings.append(finding(EXTENDS_MISSING, f"extends: {display_name(path)} {what}", written_in,
                                    fix="name an existing scenario file, relative to this one (e.g. base.yaml)"))
            break
        chain.append(path)
        document, problems = load_yaml(path, display_name(path))
        findings.extend(problems)
        if document is None:
            break
        if extended and not is_scenario(document):
            findings.append(finding(EXTENDS_MISSING, f"extends: {display_name(path)} is not a scenario file "
                                    "(it has no 'scenario:' mapping)", written_in,
                                    fix="name a scenario file; rule files are found through 'rules:'"))
            break
        spec = _spec(document, findings)
        if spec is None:
            break
        specs.append((spec, document))
        if spec.extends is None:
            path = None
            continue
        written_in = spec.field_location("extends")
        target = (path.parent / spec.extends)
        escaped = check_inside(target, path.parent.parent, written_in, "extends")
        if escaped:
            findings.append(escaped)
            break
        path = target
    top_id = specs[0][0].id if specs else scenario_path.stem
    name = specs[0][0].name if specs else ""
    rules_dir: Path | None = None
    rules_at = specs[0][1].at(("scenario",), key=True) if specs else written_in
    rules_written: str | None = None
    for spec, document in specs:  # nearest scenario first: its 'rules' wins
        if spec.rules is not None:
            rules_dir = Path(document.file).parent / spec.rules
            rules_at, rules_written = spec.field_location("rules"), spec.rules
            bad = check_inside(rules_dir, Path(document.file).parent.parent, rules_at, "rules")
            if bad:
                findings.append(bad)
                rules_dir = None
            break
    if rules_dir is None and rules_written is None and specs:
        rules_dir = Path(specs[-1][1].file).parent.parent / "rules"
    for spec, document in reversed(specs):  # lowest layer first
        layer = f"scenario {spec.id}"
        layers.append((layer, [Override(key, value, document.at(("scenario", "overrides", key), key=True), layer)
                               for key, value in spec.overrides.items()]))
        if spec.add:
            additions.append(_sub_document(document, ("scenario", "add")))
        for key, value in spec.options.items():
            options[key] = (value, document.at(("scenario", "options", key)))
    cli: list[Override] = []
    for index, text in enumerate(command_line or []):
        override, problem = parse_assignment(text, index)
        if problem:
            findings.append(problem)
        elif override:
            cli.append(override)
    layers.append(("command line", cli))
    empty = Resolved(top_id, name, display_name(scenario_path), RuleSet(), ScenarioOptions(), findings,
                     chain=[display_name(p) for p in reversed(chain)])
    if rules_dir is None or any(f.severity.value == "error" for f in findings):
        return empty
    files, problems = rule_files(rules_dir)
    findings.extend(problems)
    documents, problems = load_documents(files)
    findings.extend(problems)
    if problems:
        return empty
    if not any(not is_scenario(d) for d in documents):
        findings.append(_no_rules(rules_dir, rules_written, rules_at, bool(files)))
        return empty
    documents = [Document(d.file, copy.deepcopy(d.data), d.values, d.keys, dict(d.overridden)) for d in documents]
    applied: list[str] = [f"options.{key} = {value!r} (scenario, {where})" for key, (value, where) in options.items()]
    for layer, overrides in layers:
        findings.extend(_conflicts(overrides))
        rule_overrides = [o for o in overrides if not o.path.startswith("options.")]
        for override in overrides:
            if override.path.startswith("options."):
                key = override.path.removeprefix("options.")
                before = options.get(key)
                options[key] = (override.value, override.location)
                replaced = f"replaces {before[0]!r} ({before[1]})" if before else "replaces the default"
                applied.append(f"{override.path} = {override.shown} ({layer}, {override.location}) {replaced}")
        for override in rule_overrides:
            problem = _apply(documents, override, applied)
            if problem:
                findings.append(problem)
    rules, problems = build_rule_set(documents + additions)
    findings.extend(_how_to_write_numbers(problems))
    try:
        run_options = ScenarioOptions.model_validate({key: value for key, (value, _) in options.items()})
    except ValidationError as error:
        run_options = ScenarioOptions()
        allowed = list(ScenarioOptions.model_fields)
        for detail in error.errors(include_url=False):
            key = str(detail["loc"][0]) if detail["loc"] else "options"
            at = options.get(key, (None, Location(display_name(scenario_path), 1, 1)))[1]
            if detail["type"] == "extra_forbidden":
                findings.append(finding(SCHEMA_UNKNOWN_KEY, f"unknown option '{key}'{did_you_mean(key, allowed)}",
                                        at, fix=f"allowed options: {', '.join(allowed)}"))
                continue
            number = at.file == COMMAND_LINE and detail["type"].startswith(
                ("int_", "float_", "whole_number_", "number_"))
            said = (detail.get("ctx") or {}).get("fix")
            fix = (f"write the number as {NUMBER_FORMS}" if number else said if isinstance(said, str)
                   else f"allowed options: {', '.join(allowed)}")
            got = shown_value(detail.get("input"))
            findings.append(finding(SCHEMA_INVALID, f"options.{key}: {detail['msg']} (got {got})", at, fix=fix))
    return Resolved(top_id, name, display_name(scenario_path), rules, run_options, findings, applied,
                    [display_name(p) for p in reversed(chain)])


def _no_rules(folder: Path, written: str | None, at: Location, scenarios_only: bool) -> Finding:
    """A scenario whose rules path holds no rule file: nothing would be checked or simulated."""
    name = display_name(folder)
    said = f"rules: {written} ({name})" if written is not None else (
        f"the scenario names no 'rules:', and the default ../rules ({name})")
    if not folder.exists():
        why = "does not exist"
    elif not folder.is_dir():
        why = "is a file, not a folder"
    elif scenarios_only:
        why = "holds only scenario files, no rule file"
    else:
        why = "holds no rule file (*.yaml, *.yml)"
    return finding(NO_RULE_FILES, f"{said} {why}", at,
                   fix="set 'rules:' to the folder that holds the rule files, relative to this scenario "
                       "(e.g. rules: ../rules)")


def _spec(document: Document, findings: list[Finding]) -> ScenarioSpec | None:
    data = document.data
    if not isinstance(data, dict) or set(data) != {"scenario"}:
        findings.append(finding(SCHEMA_INVALID, "a scenario file holds exactly one 'scenario:' mapping",
                                document.at(()), fix="put id, rules, extends, overrides, add, options under 'scenario:'"))
        return None
    try:
        spec = ScenarioSpec.model_validate(data["scenario"])
    except ValidationError as error:
        findings.extend(schema_findings(error, data["scenario"], document, ("scenario",), root=ScenarioSpec))
        return None
    locate(spec, document, ("scenario",))
    return spec


def _sub_document(document: Document, prefix: DocPath) -> Document:
    size = len(prefix)
    return Document(
        document.file,
        document.data[prefix[0]][prefix[1]],
        {p[size:]: v for p, v in document.values.items() if p[:size] == prefix},
        {p[size:]: v for p, v in document.keys.items() if p[:size] == prefix},
    )


def _conflicts(overrides: list[Override]) -> list[Finding]:
    out = []
    seen: dict[str, Override] = {}
    for override in overrides:
        for other_path, other in seen.items():
            a, b = override.path, other_path
            if a == b or a.startswith(b + ".") or b.startswith(a + "."):
                out.append(finding(OVERRIDE_CONFLICT, f"{override.layer}: '{a}' and '{b}' both set in one layer",
                                   override.location, related=[other.location],
                                   fix="keep one of the two overrides"))
        seen[override.path] = override
    return out


def _apply(documents: list[Document], override: Override, applied: list[str]) -> Finding | None:
    parts = override.path.split(".")
    section = SECTIONS.get(parts[0])
    if section is None or len(parts) < 2:
        return _unknown_target(override, f"'{parts[0]}' is not a rule section{did_you_mean(parts[0], list(SECTIONS))}")
    if section.single:
        item_parts, rest = [parts[0]], parts[1:]
    else:
        if len(parts) < 3:
            return _unknown_target(override, "write section.id.field, e.g. budgets.total-2027.max")
        item_parts, rest = parts[:2], parts[2:]
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or parts[0] not in data:
            continue
        base: DocPath
        if section.single:
            holder, base = data[parts[0]], (parts[0],)
        else:
            items = data[parts[0]] if isinstance(data[parts[0]], list) else []
            index = next((i for i, item in enumerate(items) if isinstance(item, dict) and item.get("id") == parts[1]), None)
            if index is None:
                continue
            holder, base = items[index], (parts[0], index)
        target: Any = holder
        path: DocPath = base
        kind = holder.get("kind") if isinstance(holder, dict) else None
        steps: list[str | int] = []
        for position, step in enumerate(rest):
            key: str | int = int(step) if step.isdigit() and isinstance(target, list) else step
            if isinstance(target, dict):
                problem = _check_field(parts[0], kind, tuple(steps), str(key), override)
                if problem:
                    return problem
            last_step = position == len(rest) - 1
            if last_step:
                break
            if isinstance(target, dict) and key not in target:
                target[key] = {}  # a nested field left at its default, e.g. `valid` of a discount
            try:
                target = target[key]
            except (KeyError, IndexError, TypeError):
                return _unknown_target(override, f"'{'.'.join(item_parts + rest)}' has no '{step}'")
            path = path + (key,)
            steps.append(key)
        last: str | int = int(rest[-1]) if rest[-1].isdigit() and isinstance(target, list) else rest[-1]
        if isinstance(target, list):
            if not (isinstance(last, int) and last < len(target)):
                return _unknown_target(override, f"index {rest[-1]} is out of range")
            old = target[last]
            target[last] = override.value
        elif isinstance(target, dict):
            old = target.get(last, "(default)")
            target[last] = override.value
        else:
            return _unknown_target(override, f"cannot set '{rest[-1]}' inside a plain value")
        full = path + (last,)
        previous = document.at(full)
        document.overridden[full] = override.location
        applied.append(f"{override.path} = {override.shown} ({override.layer}, {override.location}) "
                       f"replaces {old!r} ({previous})")
        return None
    if section.single:
        return _unknown_target(override, f"no '{parts[0]}' section")
    known = [str(item["id"]) for document in documents if isinstance(document.data, dict)
             and isinstance(document.data.get(parts[0]), list)
             for item in document.data[parts[0]] if isinstance(item, dict) and "id" in item]
    return _unknown_target(override, f"unknown {_one_of(parts[0])} id '{parts[1]}'{did_you_mean(parts[1], known)}")


def _one_of(section: str) -> str:
    """'budgets' -> 'budget', 'categories' -> 'category', 'product_groups' -> 'product group'."""
    name = section.replace("_", " ")
    return name[:-3] + "y" if name.endswith("ies") else name.removesuffix("s")


def _check_field(section: str, kind: Any, parents: tuple[str | int, ...], key: str, override: Override) -> Finding | None:
    """An override may only name fields the schema has (with a did-you-mean when it does not)."""
    model = model_at(section, kind, parents)
    if model is None:
        return None
    names = [info.alias or name for name, info in model.model_fields.items()]
    if key in names:
        return None
    return _unknown_target(override, f"{model.__name__} has no field '{key}'{did_you_mean(key, names)}")


def _unknown_target(override: Override, why: str) -> Finding:
    return finding(OVERRIDE_UNKNOWN_TARGET, f"override '{override.path}': {why}", override.location,
                   fix="name an existing object and field: section.id.field (see docs/scenarios.md)")
