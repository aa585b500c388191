"""Loader and scenario findings at the defect (issue 15, part 3).

* A NUL or other control character is reported at its own line and column, named (U+0007 (BEL)), not at 1:1 or as
  libyaml's character offset.
* An unclosed quote is reported where the quote opens, both when libyaml runs into the end of the file and when a
  later quote (an apostrophe further down) closes the string and the parser gives up after it.
* A scenario's `rules:` naming a missing path, a file or a folder without rule files is PP116 at that `rules:`
  value; `extends:` naming a missing file, a folder or a rule file is PP503 at that `extends:` value. `planner
  simulate` on such a scenario exits 1 with the located finding (it used to die with an internal error).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.rules.findings import Finding
from planner.rules.scenario import resolve
from planner.rules.source import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "fixtures" / "base"
PLANNER = Path(sys.executable).parent / "planner"

DOCUMENT = "discounts:\n  - id: spring\n    name: Spring deal 2027\n    percent: 2%\n"

DISALLOWED = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\x7f", "\x80", "\x9f", "\ufffe"]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize("char", DISALLOWED, ids=[f"U+{ord(c):04X}" for c in DISALLOWED])
def test_control_character_located_and_named(char: str) -> None:
    text = DOCUMENT.replace("deal 2027", f"deal{char} 2027")
    document, findings = parse_yaml(text.encode("utf-8"), "rules.yaml")
    item = only(findings)
    assert document is None and item.code == "PP101"
    assert (item.location.line, item.location.column) == (3, 22), item
    assert f"U+{ord(char):04X}" in item.message or (char == "\x00" and "NUL" in item.message)
    assert item.fix


@given(st.integers(min_value=0, max_value=len(DOCUMENT) - 1), st.sampled_from(DISALLOWED))
def test_control_character_anywhere_is_located_where_it_stands(index: int, char: str) -> None:
    text = DOCUMENT[:index] + char + DOCUMENT[index:]
    _, findings = parse_yaml(text.encode("utf-8"), "rules.yaml")
    item = only(findings)
    before = DOCUMENT[:index]
    line = before.count("\n") + 1
    column = len(before.rsplit("\n", 1)[-1]) + 1
    assert item.code == "PP101" and (item.location.line, item.location.column) == (line, column), item


def test_first_of_several_control_characters_counts_the_rest() -> None:
    _, findings = parse_yaml(b"a: 1\nb: x\x07y\x07\nc: \x00\n", "rules.yaml")
    item = only(findings)
    assert (item.location.line, item.location.column) == (2, 5) and "2 more after it" in item.message


def test_tab_and_crlf_are_not_control_findings() -> None:
    document, findings = parse_yaml(b"a: 'x\ty'\r\nb: 2\r\n", "rules.yaml")
    assert document is not None and findings == [] and document.data == {"a": "x\ty", "b": 2}


@pytest.mark.parametrize(("text", "line", "column", "words"), [
    ('a: 1\nb: "hello\nc: 2\n', 2, 4, "never closed"),
    ("a: 1\nb: 'hello", 2, 4, "never closed"),
    ("a: [1, 'x, 2]\nb: 3\n", 1, 8, "never closed"),
    ("a: 1\nb: 'hello\nc: 2\nd: it's here\ne: 3\n", 2, 4, "closing quote missing"),
    ('a: 1\nb: "hello\nc: 2\nd: say "hi"\n', 2, 4, "closing quote missing"),
], ids=["double-eof", "single-eof", "flow", "apostrophe-later", "double-quote-later"])
def test_unclosed_quote_located_where_it_opens(text: str, line: int, column: int, words: str) -> None:
    _, findings = parse_yaml(text.encode(), "rules.yaml")
    item = only(findings)
    assert item.code == "PP101" and (item.location.line, item.location.column) == (line, column), item
    assert words in item.message and "quote" in item.fix


@pytest.mark.parametrize(("text", "line", "column"), [
    ('a: "x\\qy"\n', 1, 6),  # an unknown escape: at the escape itself
    ("a:\n  b: 1\n c: 2\n", 3, 2),  # bad indentation, no quote involved
    ("a: 'x\n  y'\n b: 2\n", 3, 2),  # a valid two-line quoted string, then an unrelated error
])
def test_other_syntax_errors_keep_the_parsers_position(text: str, line: int, column: int) -> None:
    _, findings = parse_yaml(text.encode(), "rules.yaml")
    item = only(findings)
    assert item.code == "PP101" and (item.location.line, item.location.column) == (line, column), item


def test_valid_multiline_quoted_string_still_loads() -> None:
    document, findings = parse_yaml(b"a: 'x\n  y'\nb: \"it's\"\n", "rules.yaml")
    assert findings == [] and document is not None and document.data == {"a": "x y", "b": "it's"}


# --- scenarios --------------------------------------------------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BASE, tmp_path / "rules")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no rules here\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scenario(project: Path, body: str, name: str = "s.yaml") -> Path:
    path = project / "scenarios" / name
    path.write_text("scenario:\n  id: s\n" + body, encoding="utf-8")
    return path


def located(path: Path) -> list[tuple[str, str, int, int]]:
    return [(f.code, f.location.file, f.location.line, f.location.column) for f in resolve(path).findings]


@pytest.mark.parametrize(("rules", "words"), [
    ("../missing", "does not exist"),
    ("../rules/master.yaml", "is a file, not a folder"),
    ("../empty", "holds no rule file"),
    (".", "only scenario files"),
])
def test_rules_path_without_rule_files_is_located_at_rules(project: Path, rules: str, words: str) -> None:
    path = scenario(project, f"  rules: {rules}\n")
    resolved = resolve(path)
    assert located(path) == [("PP116", "scenarios/s.yaml", 3, 10)]
    assert words in resolved.findings[0].message and not resolved.ok


def test_default_rules_folder_missing_is_located_at_the_scenario(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scenarios").mkdir()
    monkeypatch.chdir(tmp_path)
    path = scenario(tmp_path, "")
    assert located(path) == [("PP116", "scenarios/s.yaml", 1, 1)]
    assert "names no 'rules:'" in resolve(path).findings[0].message


def test_rules_written_in_the_extended_scenario_is_located_there(project: Path) -> None:
    scenario(project, "  rules: ../missing\n", "base.yaml")
    path = scenario(project, "  extends: base.yaml\n")
    assert located(path) == [("PP116", "scenarios/base.yaml", 3, 10)]


@pytest.mark.parametrize(("extends", "words"), [
    ("nowhere.yaml", "does not exist"),
    ("../empty", "is a folder"),
    ("../rules/master.yaml", "not a scenario file"),
])
def test_extends_problems_are_located_at_extends(project: Path, extends: str, words: str) -> None:
    path = scenario(project, f"  rules: ../rules\n  extends: {extends}\n")
    resolved = resolve(path)
    assert located(path) == [("PP503", "scenarios/s.yaml", 4, 12)]
    assert words in resolved.findings[0].message


def test_a_good_scenario_still_resolves(project: Path) -> None:
    scenario(project, "  rules: ../rules\n", "base.yaml")
    path = scenario(project, "  extends: base.yaml\n")
    resolved = resolve(path)
    assert resolved.ok and resolved.findings == [] and resolved.rules.rule_count > 0


@pytest.mark.parametrize(("body", "expected"), [
    ("  rules: ../missing\n", "scenarios/s.yaml:3:10: error PP116"),
    ("  rules: ../rules/master.yaml\n", "scenarios/s.yaml:3:10: error PP116"),
    ("  rules: ../rules\n  extends: nowhere.yaml\n", "scenarios/s.yaml:4:12: error PP503"),
])
def test_simulate_refuses_with_the_located_finding(project: Path, body: str, expected: str) -> None:
    """It used to print 'internal error: ValueError: attempt to get argmax of an empty sequence' (exit 2)."""
    path = scenario(project, body)
    for command in (["simulate", str(path.relative_to(project))], ["validate", str(path.relative_to(project))]):
        result = subprocess.run([str(PLANNER), *command], cwd=project, capture_output=True, text=True, timeout=120,
                                check=False, env={**os.environ, "NO_COLOR": "1"})
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        assert expected in output and "internal error" not in output and "Traceback" not in output, output
