"""Load a rules folder: find the files, parse them safely, validate every object, merge, locate.

Problems never raise: each becomes a located `Finding`, and every valid object still loads, so one run reports
everything that is wrong (Calliope's "collect, then report once").
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.rules.findings import (
    NO_RULE_FILES,
    PATH_ESCAPES,
    SCHEMA_INVALID,
    SCHEMA_MISSING,
    SCHEMA_UNKNOWN_KEY,
    SINGLETON_MISSING,
    SINGLETON_TWICE,
    Finding,
    Location,
    finding,
)
from planner.rules.schema import CALENDAR_RULE_KINDS, SECTIONS, RuleSet
from planner.rules.schema.common import RuleModel
from planner.rules.source import DEFAULT_LIMITS, DocPath, Document, Limits, format_path, load_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Loaded:
    """What loading produced: the rule set (possibly partial) and every problem found on the way."""

    rules: RuleSet
    findings: list[Finding] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    """Every rule file found, loaded or not (a file that did not load has no document)."""


def display_name(path: Path) -> str:
    """Paths are reported relative to the working directory when they are below it (as CI annotations need)."""
    absolute = Path(os.path.abspath(path))  # not resolve(): a link is reported where it stands, not its target
    try:
        return str(absolute.relative_to(Path(os.path.abspath(Path.cwd()))))
    except ValueError:
        return str(path)


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def rule_files(folder: Path) -> tuple[list[Path], list[Finding]]:
    """The YAML files of a rules folder, sorted; a file or link that resolves outside the folder is refused."""
    files, findings = [], []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES):
        if not inside(path, folder):
            findings.append(
                finding(
                    PATH_ESCAPES,
                    f"{display_name(path)} resolves outside the rules folder {display_name(folder)}",
                    Location(display_name(path), 1, 1),
                    fix="replace the link with a real file inside the rules folder",
                )
            )
        elif path.is_file():
            files.append(path)
    return files, findings


def load_documents(paths: list[Path], limits: Limits = DEFAULT_LIMITS) -> tuple[list[Document], list[Finding]]:
    documents, findings = [], []
    for path in paths:
        document, problems = load_yaml(path, display_name(path), limits)
        findings.extend(problems)
        if document is not None:
            documents.append(document)
    return documents, findings


def collect_files(paths: list[Path]) -> tuple[list[Path], list[Finding]]:
    """The YAML files named by `paths`: files as given, folders searched recursively."""
    files: list[Path] = []
    findings: list[Finding] = []
    for path in paths:
        if path.is_dir():
            found, problems = rule_files(path)
            files.extend(found)
            findings.extend(problems)
        else:
            files.append(path)
    return files, findings


def load_rules(paths: list[Path], limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """Load rule files and folders (folders are searched recursively for *.yaml / *.yml)."""
    files, findings = collect_files(paths)
    if not files:
        where = display_name(paths[0]) if paths else "."
        findings.append(finding(NO_RULE_FILES, f"no rule files (*.yaml) in {where}", Location(where, 1, 1),
                                fix="point at a rules folder or at .yaml files"))
    documents, problems = load_documents(files, limits)
    findings.extend(problems)
    rules, problems = build_rule_set(documents)
    findings.extend(problems)
    return Loaded(rules, findings, documents, files)


def build_rule_set(documents: list[Document]) -> tuple[RuleSet, list[Finding]]:
    """Validate every object of every document and merge them into one rule set."""
    findings: list[Finding] = []
    merged: dict[str, list[Any]] = {name: [] for name in SECTIONS}
    single_at: dict[str, list[Location]] = {name: [] for name, s in SECTIONS.items() if s.single}
    for document in documents:
        data = document.data
        if data is None:
            continue
        if not isinstance(data, dict):
            findings.append(finding(SCHEMA_INVALID, "a rule file is a mapping of sections (e.g. 'accounts:')",
                                    document.at(()), fix="start the file with a section name such as 'products:'"))
            continue
        for name, value in data.items():
            section = SECTIONS.get(name)
            if section is None:
                findings.append(_unknown_key(document, (name,), name, list(SECTIONS)))
                continue
            if section.single:
                single_at[name].append(document.at((name,), key=True))
                item = _validate(section.adapter, value, document, (name,), findings)
                if item is not None:
                    merged[name].append(item)
                continue
            if value is None:
                continue
            if not isinstance(value, list):
                findings.append(finding(SCHEMA_INVALID, f"section '{name}' must be a list of objects",
                                        document.at((name,)), fix=f"write each item of '{name}' on a line starting '- '"))
                continue
            for index, raw in enumerate(value):
                item = _validate(section.adapter, raw, document, (name, index), findings)
                if item is not None:
                    merged[name].append(item)
    first = Location(documents[0].file, 1, 1) if documents else Location("<rules>", 1, 1)
    singles: dict[str, Any] = {}
    for name, places in single_at.items():
        if not places and documents:
            findings.append(finding(SINGLETON_MISSING, f"the rule set has no '{name}' section", first,
                                    fix=f"add a '{name}:' section to one rule file"))
        if len(places) > 1:
            findings.append(finding(SINGLETON_TWICE, f"'{name}' is defined in {len(places)} places", places[1],
                                    related=places[:1], fix=f"keep one '{name}' section and delete the others"))
        items = merged.pop(name)
        singles[name] = items[0] if items else None
    lists: dict[str, Any] = {name: tuple(items) for name, items in merged.items()}
    rules = RuleSet(**singles, **lists, files=tuple(d.file for d in documents))
    return rules, findings


def _validate(adapter: Any, raw: Any, document: Document, path: DocPath, findings: list[Finding]) -> Any:
    try:
        item = adapter.validate_python(raw)
    except ValidationError as error:
        findings.extend(schema_findings(error, raw, document, path))
        return None
    locate(item, document, path)
    return item


def locate(item: Any, document: Document, path: DocPath) -> None:
    """Give a validated object (and its nested objects) the file:line:column of its source."""
    if not isinstance(item, RuleModel):
        return
    for name, key in _nested_fields(type(item)):
        value = getattr(item, name)
        if isinstance(value, RuleModel):
            locate(value, document, path + (key,))
        elif isinstance(value, tuple) and value and isinstance(value[0], RuleModel):
            child = path + (key,)
            for index, element in enumerate(value):
                locate(element, document, child + (index,))
    item.locate(document.at(path), document, path)


@functools.cache
def _nested_fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(name, key in the file) of the fields of `model` that may hold rule objects: a field whose annotation names
    no model holds none (at 50,000 rules, looking at every field of every object was a third of the schema time)."""
    return tuple((name, info.alias or name) for name, info in model.model_fields.items()
                 if _holds_model(info.annotation))


def _holds_model(annotation: Any) -> bool:
    if annotation is Any:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel)
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


def schema_findings(error: ValidationError, raw: Any, document: Document, path: DocPath,
                    root: type[BaseModel] | None = None) -> list[Finding]:
    """Turn pydantic's errors into located findings with a did-you-mean for unknown keys. `root` is the model
    validated at `path` when it is not a rule-file section (scenario and plan files)."""
    out = []
    kind = raw.get("kind") if isinstance(raw, dict) else None
    for problem in error.errors(include_url=False):
        loc = tuple(problem["loc"])
        if loc and kind is not None and loc[0] == kind and kind in CALENDAR_RULE_KINDS:
            loc = loc[1:]
        loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))
        where = path + loc
        kind_of = problem["type"]
        if kind_of == "extra_forbidden":
            model = model_at(path[0], kind, loc[:-1], root)
            names = _field_names(model) if model else []
            out.append(_unknown_key(document, where, str(loc[-1]), names))
        elif kind_of == "missing":
            out.append(finding(SCHEMA_MISSING, f"missing required key '{loc[-1]}'", document.at(where[:-1]),
                               fix=f"add '{loc[-1]}:' to this object (see docs/rules.md)"))
        elif kind_of == "union_tag_invalid":
            tags = sorted(CALENDAR_RULE_KINDS)
            near = difflib.get_close_matches(str(kind), tags, n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            out.append(finding(SCHEMA_INVALID, f"unknown calendar rule kind {kind!r}; {hint}".rstrip("; "),
                               document.at(where + ("kind",)), fix=f"use one of: {', '.join(tags)}"))
        elif kind_of == "union_tag_not_found":
            out.append(finding(SCHEMA_MISSING, "missing required key 'kind'", document.at(where),
                               fix=f"add 'kind:' with one of: {', '.join(sorted(CALENDAR_RULE_KINDS))}"))
        else:
            message = problem["msg"].removeprefix("Value error, ")
            field_name = format_path(loc) or str(path[0])
            got = shown_value(problem.get("input"))
            shown = message if got in message else f"{message} (got {got})"
            fix = (problem.get("ctx") or {}).get("fix")
            if kind_of == "literal_error":
                fix = _choice_fix(problem)
            out.append(finding(SCHEMA_INVALID, f"{field_name}: {shown}", document.at(where),
                               fix=fix if isinstance(fix, str) else _fix_for(kind_of, message)))
    return out


def _unknown_key(document: Document, where: DocPath, key: str, names: list[str]) -> Finding:
    near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return finding(SCHEMA_UNKNOWN_KEY, f"unknown key '{key}'{hint}", document.at(where, key=True),
                   fix=f"rename it to '{near[0]}'" if near else f"remove it; allowed keys: {', '.join(names)}")


def shown_value(value: Any) -> str:
    """The value as the file wrote it: YAML's true/false/null, other values as Python shows them."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _choice_fix(problem: Any) -> str:
    """A value outside a fixed set of words (`tier: a`, `per: acount`): the closest word, or all of them."""
    expected = str((problem.get("ctx") or {}).get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    written = str(problem.get("input"))
    by_lower = {choice.lower(): choice for choice in choices}
    near = difflib.get_close_matches(written.lower(), list(by_lower), n=1, cutoff=0.6)
    if near:
        return f"write {by_lower[near[0]]} (one of: {', '.join(choices)})"
    return f"write one of: {', '.join(choices)}" if choices else "see docs/rules.md for what this key accepts"


def _fix_for(kind: str, message: str) -> str:
    if "percentage" in message or "fraction" in message:
        return "write a percentage like '2.5%' or a fraction like 0.025"
    if kind.startswith(("greater", "less")):
        return "bring the value into the allowed range (see docs/rules.md)"
    if "pattern" in kind:
        return "ids use letters, digits, '-' and '_' only"
    if kind == "too_short":
        return "give at least one entry (an empty list or mapping here would mean nothing)"
    if kind == "string_type":
        return "write text; quote a value YAML would read as a number, a date or true/false, e.g. '2027'"
    if kind.endswith(("_type", "_parsing")):
        return "give a value of the type docs/rules.md lists for this key"
    return "see docs/rules.md for what this key accepts"


def model_at(section: Any, kind: Any, loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> type[BaseModel] | None:
    spec = SECTIONS.get(str(section))
    if root is not None:
        model: Any = root
    elif spec is None:
        return None
    else:
        model = CALENDAR_RULE_KINDS.get(kind) if section == "calendar_rules" else _unwrap(spec.adapter._type)
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        if part not in fields:
            return None
        model = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """The model class inside Optional[...] / tuple[..., ...] / Annotated[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None:
        return None
    for arg in typing.get_args(annotation):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def check_inside(path: Path, root: Path, written_in: Location, what: str) -> Finding | None:
    """A path written inside a file (extends, rules, plan) may not leave the project folder."""
    if inside(path, root):
        return None
    return finding(PATH_ESCAPES, f"{what} {path} leaves the project folder {display_name(root)}", written_in,
                   fix="use a path inside the project (relative to the file that names it)")
