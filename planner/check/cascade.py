"""Cascade control: findings that an earlier finding caused are folded into one line under it (PP205).

A rule file that does not load (PP101-PP104) takes every object written in it out of the rule set, and an object
the schema refuses (PP110-PP112) takes its id out: every reference to those ids then fails (PP201), and a
`company` or `calendar` section written in a file that did not load is reported missing (PP113). Reported one by
one, a single duplicate key in products.yaml buries itself under hundreds of unknown references. Here they become
one note at the finding that caused them: "and 290 references to ids in products.yaml, which did not load", with
the first references as related locations and the count of each folded code in its example.

What a file that did not load would have defined is read from its text (the `id:` values under each top-level
section, and the top-level sections themselves), since the parser gave up on it. That reading only decides what
to fold, never what loads: once the file loads, a reference it does not resolve is reported on its own.
A reference to an id that no failed file or refused object mentions is never folded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.check.context import related, shown
from planner.rules.findings import (
    FOLDED,
    SCHEMA_INVALID,
    SCHEMA_MISSING,
    SCHEMA_UNKNOWN_KEY,
    SINGLETON_MISSING,
    UNKNOWN_REFERENCE,
    YAML_DUPLICATE_KEY,
    YAML_FORBIDDEN_TAG,
    YAML_SYNTAX,
    YAML_TOO_LARGE,
    Finding,
    Location,
    finding,
)
from planner.rules.load import Loaded, display_name
from planner.rules.schema import ID_SECTIONS, RuleSet
from planner.rules.source import Document, format_path

LOAD_FAILED = frozenset(k.code for k in (YAML_SYNTAX, YAML_DUPLICATE_KEY, YAML_FORBIDDEN_TAG, YAML_TOO_LARGE))
"""A file with one of these did not load at all."""
OBJECT_REFUSED = frozenset(k.code for k in (SCHEMA_UNKNOWN_KEY, SCHEMA_INVALID, SCHEMA_MISSING))
"""An object with one of these was left out of the rule set."""
READ_AT_MOST = 64 * 1024 * 1024
"""A failed file larger than this is not read for ids (its references are then reported one by one)."""

_SECTION = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_ID = re.compile(r"""(?:^|[\s{,-])id\s*:\s*(?:'([^']*)'|"([^"]*)"|([^\s,{}\[\]#'"]+))""")
_MISSING_SECTION = re.compile(r"no '([\w-]+)' section")
_OBJECT = re.compile(r"^[^.\[]+\[\d+\]")


@dataclass
class Cause:
    """A finding that takes ids (and perhaps sections) out of the rule set, and what it has caused so far."""

    finding: Finding
    what: str
    """How the fold line names the missing ids: "ids in products.yaml" or "'cola-can' (products)"."""
    ids: frozenset[tuple[str | None, str]]
    """(section, id) pairs it took out; section None when the file's layout did not say."""
    sections: frozenset[str] = frozenset()
    folded: list[Finding] = field(default_factory=list)


def written_ids(text: str) -> tuple[frozenset[tuple[str | None, str]], frozenset[str]]:
    """The (section, id) pairs and top-level sections a rule file's text writes, read line by line (no parser:
    the file is broken). Block and flow style alike: `- id: x`, `- {id: x, ...}`, `id: 'x'`."""
    ids: set[tuple[str | None, str]] = set()
    sections: set[str] = set()
    section: str | None = None
    for line in text.splitlines():
        top = _SECTION.match(line)
        if top:
            section = top[1]
            sections.add(section)
        for match in _ID.finditer(line):
            ids.add((section if section in ID_SECTIONS else None, next(g for g in match.groups() if g is not None)))
    return frozenset(ids), frozenset(sections)


def file_causes(findings: Iterable[Finding], paths: dict[str, Path]) -> list[Cause]:
    """One cause per rule file that did not load, at its first load finding. `paths` maps each file's reported
    name to its path (to read what it would have defined)."""
    causes: dict[str, Cause] = {}
    for item in findings:
        name = item.location.file
        if item.code not in LOAD_FAILED or name in causes or name not in paths:
            continue
        try:
            path = paths[name]
            if path.stat().st_size > READ_AT_MOST:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        ids, sections = written_ids(text)
        causes[name] = Cause(item, f"ids in {name}", ids, sections)
    return list(causes.values())


def object_causes(findings: list[Finding], documents: Iterable[Document], rules: RuleSet) -> list[Cause]:
    """One cause per object the schema refused whose id is not loaded from elsewhere, at its first finding."""
    refused: dict[tuple[str, str], Finding] = {}  # (file, object path such as 'products[3]') -> its first finding
    for item in findings:
        top = _OBJECT.match(item.location.path)
        if item.code in OBJECT_REFUSED and top:
            key = (item.location.file, top[0])
            first = refused.get(key)
            if first is None or (item.location.line, item.location.column) < (first.location.line,
                                                                               first.location.column):
                refused[key] = item
    if not refused:
        return []
    loaded = {section: rules.ids(section) for section in ID_SECTIONS}
    causes = []
    for document in documents:
        if not isinstance(document.data, dict):
            continue
        for section, items in document.data.items():
            if section not in loaded or not isinstance(items, list):
                continue
            for index, raw in enumerate(items):
                ident = raw.get("id") if isinstance(raw, dict) else None
                cause = refused.get((document.file, format_path((section, index))))
                if ident is not None and cause is not None and str(ident) not in loaded[section]:
                    causes.append(Cause(cause, f"'{ident}' ({section})", frozenset({(section, str(ident))})))
    return causes


def fold_loaded(findings: list[Finding], loaded: Loaded) -> list[Finding]:
    """`fold` with the causes `planner validate` folds by: the rule files of `loaded` that did not load and the
    objects its schema refused. For every command that loads rules and prints their findings."""
    named = {display_name(path): path for path in loaded.files}
    return fold(findings, file_causes(findings, named) + object_causes(findings, loaded.documents, loaded.rules))


def fold(findings: list[Finding], causes: list[Cause]) -> list[Finding]:
    """The findings with every one a cause explains replaced by one PP205 note per cause (the first cause that
    names an id or a section wins)."""
    if not causes:
        return findings
    by_id: dict[tuple[str | None, str], Cause] = {}
    by_section: dict[str, Cause] = {}
    for cause in causes:
        for key in cause.ids:
            by_id.setdefault(key, cause)
        for name in cause.sections:
            by_section.setdefault(name, cause)
    kept: list[Finding] = []
    for item in findings:
        folded_by = _cause_of(item, by_id, by_section)
        if folded_by is None:
            kept.append(item)
        else:
            folded_by.folded.append(item)
    return kept + [_note(cause) for cause in causes if cause.folded]


def _cause_of(item: Finding, by_id: dict[tuple[str | None, str], Cause], by_section: dict[str, Cause]) -> Cause | None:
    if item.code == UNKNOWN_REFERENCE.code and len(item.example) == 1:
        ((section, ref),) = item.example.items()
        return by_id.get((section, str(ref))) or by_id.get((None, str(ref)))
    if item.code == SINGLETON_MISSING.code:
        match = _MISSING_SECTION.search(item.message)
        return by_section.get(match[1]) if match else None
    return None


def _note(cause: Cause) -> Finding:
    references = [f for f in cause.folded if f.code == UNKNOWN_REFERENCE.code]
    sections = sorted({m[1] for f in cause.folded if f.code == SINGLETON_MISSING.code
                       and (m := _MISSING_SECTION.search(f.message))})
    parts = []
    if sections:
        names = " and ".join(f"'{name}'" for name in sections)
        parts.append(f"the {names} section{'' if len(sections) == 1 else 's'}")
    if references:
        parts.append(f"{len(references)} reference{'' if len(references) == 1 else 's'} to {cause.what}")
    else:
        parts[-1] = f"{parts[-1]} of {cause.finding.location.file}"
    which = "which did not load" if cause.finding.code in LOAD_FAILED else "which the schema refused"
    codes: dict[str, int] = {}
    for item in cause.folded:
        codes[item.code] = codes.get(item.code, 0) + 1
    example: dict[str, Any] = {"folded": len(cause.folded), "caused_by": cause.finding.code, "codes": codes}
    ids = list(dict.fromkeys(str(v) for f in references for v in f.example.values()))
    if ids:
        example["ids"] = shown(ids, example, "ids_not_shown")
    where: list[Location] = related(list(dict.fromkeys(f.location for f in cause.folded)), example)
    return finding(
        FOLDED, f"and {' and '.join(parts)}, {which}", cause.finding.location, related=where, example=example,
        fix=f"fix the {cause.finding.code} here; the folded findings go with it, or show on their own if they stay")
