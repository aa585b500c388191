"""The loader and the checker on hostile input: whatever bytes a pull request puts in a rule file, `planner validate`
answers with located findings, never a traceback.

Inputs: random bytes, random YAML-ish text, random structured rule data, and mutations of the real fixture and
demo rule files (lines deleted, duplicated or swapped, characters flipped, tabs, anchors, aliases and tags
inserted, truncation). Each goes through `parse_yaml` -> `build_rule_set` (merged with the other files of its
folder, so the semantic checks run on nearly valid rule sets) -> `run_checks`. Plus the safety limits: an alias
bomb and a 50 MB file are refused in well under a second, and 100,000 levels of nesting do not crash the
interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from strategies import fixture_sources, mutated_yaml, rule_documents, yaml_text

from planner.check import run_checks
from planner.rules.findings import Finding
from planner.rules.load import build_rule_set
from planner.rules.source import Document, load_yaml, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = fixture_sources(ROOT)
BASE = [(name, text) for name, text in SOURCES if name.startswith("tests/fixtures/base/")]
DEMO = [(name, text) for name, text in SOURCES if name.startswith("rules/")]


def siblings_of(name: str) -> list[tuple[str, str]]:
    """The files a rule file is validated with: its own folder (a broken fixture: the base rule set)."""
    if name.startswith("rules/"):
        return DEMO
    return BASE


def assert_well_formed(findings: list[Finding]) -> None:
    for item in findings:
        assert item.code != "PP999", item
        assert item.message.strip(), item
        for location in (item.location, *item.related):
            assert location.line >= 1 and location.column >= 1, item
            assert location.file, item


def parse(raw: bytes, name: str) -> tuple[Document | None, list[Finding]]:
    document, findings = parse_yaml(raw, name)
    assert (document is None) == bool(findings), "a document, or the findings that explain why there is none"
    assert_well_formed(findings)
    return document, findings


def validate(raw: bytes, name: str = "fuzz.yaml", siblings: list[tuple[str, str]] | None = None) -> list[Finding]:
    """What `planner validate` does with this file (and the other files of its folder): every finding."""
    document, findings = parse(raw, name)
    documents = [document] if document is not None else []
    for other, text in siblings or []:
        sibling, _ = parse_yaml(text.encode("utf-8"), other)
        if other != name and sibling is not None:
            documents.append(sibling)
    rules, problems = build_rule_set(documents)
    findings += problems
    findings += run_checks(rules)
    assert_well_formed(findings)
    return findings


def test_the_fuzzed_sources_exist_and_are_clean() -> None:
    assert BASE, "tests/fixtures/base holds the valid rule set the fuzzer mutates"
    assert validate(b"", "empty.yaml", BASE) == []


@given(st.binary(max_size=600))
def test_random_bytes(raw: bytes) -> None:
    validate(raw)


@given(yaml_text)
def test_random_yaml_punctuation(text: str) -> None:
    validate(text.encode("utf-8", errors="surrogatepass"))


@given(rule_documents())
def test_random_rule_data(data: dict[str, Any]) -> None:
    raw = yaml.safe_dump(data, allow_unicode=True).encode("utf-8")
    validate(raw, "rules.yaml", BASE)


@given(mutated_yaml(SOURCES))
def test_mutated_rule_files(mutation: tuple[str, bytes]) -> None:
    name, raw = mutation
    validate(raw, name, siblings_of(name))


CLEAN = [(name, text) for name, text in SOURCES
         if not any(ord(c) < 0x20 and c not in "\t\n\r" or 0x7F <= ord(c) <= 0x9F for c in text)]


@given(st.sampled_from(CLEAN), st.data(), st.sampled_from(["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b",
                                                           "\x7f", "\x9f"]))
def test_control_character_in_a_real_file_is_located_where_it_stands(source: tuple[str, str], data: st.DataObject,
                                                                      char: str) -> None:
    """Whatever else the file holds, a NUL or control character is reported at its own line and column (issue 15)."""
    name, text = source
    index = data.draw(st.integers(min_value=0, max_value=len(text)), label="index")
    before = text[:index]
    findings = validate((before + char + text[index:]).encode("utf-8"), name)
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [
        ("PP101", before.count("\n") + 1, len(before.rsplit("\n", 1)[-1]) + 1)]


MASTER = ("company: {name: x}\nchannels: [{id: ch}]\nregions: [{id: r}]\nbrands: [{id: b}]\ncategories: [{id: c}]\n"
          "products: [{id: p, brand: b, category: c, list_price: 10, cogs: 5}]\n"
          "accounts: [{id: a, channel: ch, tier: A, region: r, partner_since: 2000, last_year_volume: 1}]\n")


@pytest.mark.parametrize("text", [
    "products:\n  - {id: big, brand: b, category: c, list_price: " + "9" * 5000 + ", cogs: 1}\n",
    MASTER + "calendar: {year: 2027, start: 9999-12-27}\ndiscounts:\n  - {id: gone, percent: 3%, valid: {to: 9999-12-20}}\n",
    MASTER + "calendar: {year: 2027, start: 0001-01-01}\ndiscounts:\n  - {id: old, percent: 3%, valid: {to: 0001-01-01}}\n",
    "x: &a [1, 2]\ny: {*a : 1}\n",
    "? [a, b]\n: c\n",
    "a: 1\na: 2\n",
    "!!python/object/apply:os.system ['true']\n",
    "--- 1\n--- 2\n",
    "\ufeffcompany: {name: bom}\n",
    "\t- tab\n",
])
def test_known_hostile_inputs(text: str) -> None:
    validate(text.encode("utf-8"))


def _alias_bomb(levels: int = 12, width: int = 10) -> bytes:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


def test_alias_bomb_refused_without_expanding() -> None:
    """10^12 values after expansion: refused from the alias count (sizes are added up, nothing is expanded; an
    expansion would not finish). Speed itself is measured in benchmarks/, not asserted here."""
    raw = _alias_bomb()
    document, findings = parse_yaml(raw, "bomb.yaml")
    assert document is None and [f.code for f in findings] == ["PP104"]
    assert "after expanding aliases" in findings[0].message


def test_fifty_megabytes_refused_before_parsing(tmp_path: Path) -> None:
    """Refused on its size alone, before any YAML is parsed (the finding is at 1:1 and names the limit)."""
    raw = b"discounts:\n" + b"  - {id: d, percent: 1%}\n" * (50_000_000 // 25)
    document, findings = parse_yaml(raw, "huge.yaml")
    assert document is None and [f.code for f in findings] == ["PP104"]
    assert "byte limit" in findings[0].message and findings[0].location.line == 1
    path = tmp_path / "huge.yaml"
    path.write_bytes(raw)
    document, findings = load_yaml(path, "huge.yaml")
    assert document is None and [f.code for f in findings] == ["PP104"]
    assert "byte limit" in findings[0].message and findings[0].location.line == 1


@pytest.mark.parametrize("shape", ["flow_sequences", "flow_mappings", "block_sequences"])
def test_deep_nesting_does_not_crash_the_interpreter(shape: str) -> None:
    """100,000 levels, in a subprocess: a C-stack overflow would kill the interpreter, not raise. The finding is
    PP104 with its location whether our builder or libyaml (PyYAML >= 6.0.3 limits flow nesting) stops first."""
    script = textwrap.dedent(f"""
        from planner.check import run_checks
        from planner.rules.load import build_rule_set
        from planner.rules.source import parse_yaml

        depth = 100_000
        raw = {{
            "flow_sequences": "a: " + "[" * depth + "]" * depth,
            "flow_mappings": "a: " + "{{b: " * depth + "1" + "}}" * depth,
            "block_sequences": "a:\\n" + "- " * depth + "x",
        }}[{shape!r}]
        document, findings = parse_yaml(raw.encode(), "deep.yaml")
        rules, problems = build_rule_set([document] if document else [])
        findings += problems + run_checks(rules)
        assert document is None, "refused"
        print(" ".join(sorted({{f"{{f.code}}@{{f.location.file}}:{{f.location.line}}" for f in findings}})))
    """)
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    # PP104 (the safety limit) whichever parser stops it first, our builder or libyaml's own depth limit
    line = 2 if shape == "block_sequences" else 1
    assert result.stdout.split() == [f"PP104@deep.yaml:{line}"]
