"""Broken fixtures: every problem a rule file can have, each with exactly the findings it must give.

The habit of PyMC-Marketing's `tests/mmm/builders/config_files/wrong_*.yml`: `tests/fixtures/broken/` holds one
small file per problem, and its leading comments declare what `planner validate` must report (see the README
there). For every fixture this module checks that

* `planner.validate.validate` reports exactly the declared findings located in the fixture: no missing finding,
  no extra one, none in the base rule set it is merged with, and never PP999 (an internal error);
* `planner validate` on the command line reports each of them, located, in every format (text, json, github,
  sarif, junit), and exits 1 on errors, 0 on warnings alone (1 with --fail-on-warn), 2 for an unreadable file;
* every registered finding code has a fixture, so a new code without one fails the suite.

Cases that cannot be committed (an 8 MB file, non-UTF-8 bytes, an unreadable file, a symlink, an empty folder)
and the scenario fixtures (which need a project folder around them) are built in `tmp_path`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from planner.check.calendar import feasible
from planner.cli import main
from planner.rules.findings import CODES, Finding, Location, Severity
from planner.rules.source import DEFAULT_LIMITS
from planner.validate import validate

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
BASE = FIXTURES / "base"
BROKEN = FIXTURES / "broken"
SCENARIOS = BROKEN / "scenarios"
FORMATS = ("text", "json", "github", "sarif", "junit")

EXPECT = re.compile(
    r'^# expect: (?P<code>PP\d{3}) line (?P<line>[1-9]\d*)(?: column (?P<column>[1-9]\d*))?'
    r'(?: severity (?P<severity>error|warning|note))?(?: text "(?P<text>[^"]+)")?\s*$'
)
ALONE = re.compile(r"^# alone: (?P<value>true|false)\s*$")

# Fixtures that show a checker bug: what SHOULD happen is in the fixture; the checker does something else today.
XFAIL: dict[str, str] = {}

# Registered codes no fixture has to produce, and why.
NOT_REQUIRED = {
    "PP999": "internal checker error: a bug, never an expected finding (every case asserts it never appears)",
    "PP100": "unreadable file: generated with chmod 000, which cannot work when the tests run as root",
    "PP424": "a plan file dropping a locked event: plan files are checked by `planner simulate --plan`, not by "
             "`planner validate` (tests/test_simulate_cli.py covers it)",
    "PP425": "a plan file buying vividness outside an item's scope: a plan-file check, as PP424 "
             "(tests/test_simulate_cli.py covers it)",
    "PP426": "a plan file dropping locked vividness: a plan-file check, as PP424 (tests/test_simulate_cli.py)",
}


@dataclass(frozen=True)
class Expected:
    """One finding a case must produce."""

    file: str
    code: str
    line: int
    column: int | None = None
    severity: Severity | None = None
    text: str | None = None

    @property
    def level(self) -> Severity:
        return self.severity or CODES[self.code].severity

    def matches(self, item: Finding) -> bool:
        where = item.location
        return (item.code == self.code and where.file == self.file and where.line == self.line
                and (self.column is None or where.column == self.column) and item.severity is self.level
                and (self.text is None or self.text in item.message))

    def __str__(self) -> str:
        column = f":{self.column}" if self.column is not None else ""
        text = f' "{self.text}"' if self.text else ""
        return f"{self.file}:{self.line}{column}: {self.level.value} {self.code}{text}"


@dataclass(frozen=True)
class Case:
    """What to validate (paths relative to `root`, the working directory) and what it must report."""

    root: Path
    paths: tuple[str, ...]
    expected: tuple[Expected, ...]
    files: frozenset[str]
    """The fixture's own files: every finding must be located in one of them."""

    @property
    def exit_code(self) -> int:
        if any(e.code == "PP100" for e in self.expected):
            return 2
        return 1 if any(e.level is Severity.ERROR for e in self.expected) else 0


@dataclass(frozen=True)
class Header:
    expects: tuple[tuple[str, int, int | None, Severity | None, str | None], ...]
    alone: bool
    problems: tuple[str, ...]


def read_header(path: Path) -> Header:
    """The leading comment lines of a fixture: `# expect: ...` and `# alone: true`."""
    expects: list[tuple[str, int, int | None, Severity | None, str | None]] = []
    problems: list[str] = []
    alone = False
    lines = path.read_text(encoding="utf-8").splitlines()
    body = next((n for n, line in enumerate(lines) if not line.startswith("#")), len(lines))
    problems.extend(f"{path.name}:{n + 1}: expectations belong in the leading comment lines"
                    for n in range(body, len(lines)) if lines[n].startswith(("# expect", "# alone")))
    for number, line in enumerate(lines[:body], start=1):
        if line.startswith("# expect"):
            match = EXPECT.match(line)
            if match is None:
                problems.append(f"{path.name}:{number}: malformed expectation {line!r}")
                continue
            code, at = match["code"], int(match["line"])
            if code not in CODES:
                problems.append(f"{path.name}:{number}: {code} is not a registered code")
            if at > len(lines):
                problems.append(f"{path.name}:{number}: line {at} is past the end of the file")
            severity = Severity(match["severity"]) if match["severity"] else None
            expects.append((code, at, int(match["column"]) if match["column"] else None, severity, match["text"]))
        elif line.startswith("# alone"):
            match = ALONE.match(line)
            if match is None:
                problems.append(f"{path.name}:{number}: write '# alone: true'")
            else:
                alone = match["value"] == "true"
    return Header(tuple(expects), alone, tuple(problems))


def _name(path: Path, root: Path) -> str:
    """A file as `planner validate` names it: relative to the working directory."""
    return str(path.relative_to(root))


def _expected(files: list[tuple[Path, str]]) -> tuple[Expected, ...]:
    return tuple(Expected(name, code, line, column, severity, text)
                 for path, name in files for code, line, column, severity, text in read_header(path).expects)


# --- committed fixtures -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """A parametrized case: how to build it (in tmp_path), and the codes it declares (for the coverage test)."""

    name: str
    build: Callable[[Path], Case]
    codes: frozenset[str]

    def param(self, *extra: Any) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[self.name])] if self.name in XFAIL else []
        return pytest.param(self, *extra, id="-".join([self.name, *map(str, extra)]), marks=marks)


def _rule_fixture(path: Path) -> Spec:
    """A file (or a folder of files) merged with the base rule set unless it says `alone: true`."""
    files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    headers = [read_header(f) for f in files]

    def build(_: Path) -> Case:
        named = [(f, _name(f, REPO)) for f in files]
        paths = ((_name(BASE, REPO),) if not any(h.alone for h in headers) else ()) + (_name(path, REPO),)
        return Case(REPO, paths, _expected(named), frozenset(name for _, name in named))

    return Spec(_name(path, BROKEN), build, frozenset(e[0] for h in headers for e in h.expects))


def _scenario_fixture(path: Path) -> Spec:
    """A scenario file (or a folder of them) copied to <tmp>/project/scenarios/, the base to .../rules/."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]

    def build(tmp_path: Path) -> Case:
        project = tmp_path / "project"
        shutil.copytree(BASE, project / "rules")
        (project / "scenarios").mkdir()
        named = []
        for source in files:
            target = project / "scenarios" / source.name
            shutil.copyfile(source, target)
            named.append((target, _name(target, project)))
        return Case(project, tuple(name for _, name in named), _expected(named),
                    frozenset(name for _, name in named))

    return Spec(_name(path, BROKEN), build, frozenset(e[0] for f in files for e in read_header(f).expects))


def committed_fixtures() -> list[Spec]:
    specs: list[Spec] = []
    for path in sorted(BROKEN.iterdir()):
        if path == SCENARIOS:
            specs.extend(_scenario_fixture(p) for p in sorted(path.iterdir()) if p.is_dir() or p.suffix == ".yaml")
        elif path.is_dir() or path.suffix == ".yaml":
            specs.append(_rule_fixture(path))
    return specs


# --- generated cases ---------------------------------------------------------------------------------------------

def _copy_base(folder: Path) -> None:
    shutil.copytree(BASE, folder)


_OVERSIZE: dict[str, Path] = {}


def _oversize(tmp_path: Path) -> Case:
    """A rule file over the 8 MB limit: refused from its size, before it is read or parsed.

    Written once per run and hard-linked into each test's folder (six tests use it; 8 MB each time adds up)."""
    if "file" not in _OVERSIZE or not _OVERSIZE["file"].exists():
        line = "  - {id: d%07d, applies_to: {account: conv-b}, percent: 1%%, priority: 300}\n"
        count = DEFAULT_LIMITS.max_bytes // len(line % 0) + 1
        text = "# generated: more discounts than one file may hold\ndiscounts:\n"
        (tmp_path / "too_big.yaml").write_text(text + "".join(line % i for i in range(count)), encoding="utf-8")
        _OVERSIZE["file"] = tmp_path / "too_big.yaml"
    else:
        try:
            (tmp_path / "too_big.yaml").hardlink_to(_OVERSIZE["file"])
        except OSError:
            shutil.copyfile(_OVERSIZE["file"], tmp_path / "too_big.yaml")
    assert (tmp_path / "too_big.yaml").stat().st_size > DEFAULT_LIMITS.max_bytes
    return Case(tmp_path, ("too_big.yaml",), (Expected("too_big.yaml", "PP104", 1, 1),),
                frozenset({"too_big.yaml"}))


def _non_utf8(tmp_path: Path) -> Case:
    """Latin-1 bytes (an accented id saved by an old editor): refused, located at the offending byte."""
    raw = (b"company: {name: Fixture Bottler}\ncalendar: {year: 2027, start: 2027-01-04}\n"
           b"discounts:\n  - {id: caf\xe9, percent: 2%}\n")
    (tmp_path / "latin1.yaml").write_bytes(raw)
    return Case(tmp_path, ("latin1.yaml",), (Expected("latin1.yaml", "PP101", 4, 13),), frozenset({"latin1.yaml"}))


def _unreadable(tmp_path: Path) -> Case:
    """A rule file nobody may read, inside a rules folder: PP100, and exit code 2 (the run could not check it)."""
    if os.name != "posix" or os.geteuid() == 0:
        pytest.skip("chmod 000 does not stop root (or this platform) from reading a file")
    _copy_base(tmp_path / "rules")
    locked = tmp_path / "rules" / "locked.yaml"
    locked.write_text("discounts: []\n", encoding="utf-8")
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("this file system ignores chmod 000")
    name = _name(locked, tmp_path)
    return Case(tmp_path, ("rules",), (Expected(name, "PP100", 1, 1),), frozenset({name}))


def _symlink_outside(tmp_path: Path) -> Case:
    """A link in the rules folder pointing outside it: refused, reported at the link."""
    _copy_base(tmp_path / "rules")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "extra.yaml").write_text("discounts: []\n", encoding="utf-8")
    link = tmp_path / "rules" / "extra.yaml"
    try:
        link.symlink_to(Path("..") / "elsewhere" / "extra.yaml")
    except OSError:
        pytest.skip("symlinks are not available here")
    name = _name(link, tmp_path)
    return Case(tmp_path, ("rules",), (Expected(name, "PP115", 1, 1),), frozenset({name}))


def _empty_folder(tmp_path: Path) -> Case:
    """A rules folder without a single .yaml file: nothing was checked, which must not pass silently."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no rules here\n", encoding="utf-8")
    return Case(tmp_path, ("empty",), (Expected("empty", "PP116", 1, 1),), frozenset({"empty"}))


GENERATED = [
    Spec("generated/oversize", _oversize, frozenset({"PP104"})),
    Spec("generated/non_utf8", _non_utf8, frozenset({"PP101"})),
    Spec("generated/unreadable", _unreadable, frozenset({"PP100"})),
    Spec("generated/symlink_outside", _symlink_outside, frozenset({"PP115"})),
    Spec("generated/empty_folder", _empty_folder, frozenset({"PP116"})),
]
SPECS = committed_fixtures() + GENERATED


# --- the checks -------------------------------------------------------------------------------------------------

def _describe(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.location}: {f.severity.value} {f.code} {f.message}" for f in findings) or "  (none)"


def assert_reports_exactly(case: Case, findings: list[Finding]) -> None:
    """The expected findings all appear, and nothing else does (in the fixture or anywhere else)."""
    assert not [f for f in findings if f.code == "PP999"], f"internal error:\n{_describe(findings)}"
    elsewhere = [f for f in findings if f.location.file not in case.files]
    assert not elsewhere, f"findings outside the fixture (the base must stay clean):\n{_describe(elsewhere)}"
    missing = [str(e) for e in case.expected if not any(e.matches(f) for f in findings)]
    extra = [f for f in findings if not any(e.matches(f) for e in case.expected)]
    assert not missing and not extra, (
        "missing:\n" + ("\n".join(f"  {m}" for m in missing) or "  (none)")
        + f"\nextra:\n{_describe(extra)}\nall findings:\n{_describe(findings)}")


@pytest.mark.parametrize("spec", [s.param() for s in SPECS])
def test_fixture_gives_exactly_its_findings(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = spec.build(tmp_path)
    monkeypatch.chdir(case.root)
    assert_reports_exactly(case, validate([Path(p) for p in case.paths]).findings)


def _run(case: Case, fmt: str, *options: str) -> Result:
    return CliRunner().invoke(main, ["validate", *case.paths, "--format", fmt, *options])


def _reported(file: str, line: int | str, column: int | str, severity: str, code: str, message: str) -> Finding:
    """A finding as a report format shows it, to compare with the expectations like validate()'s own."""
    return Finding(code, Severity(severity), message, Location(file, int(line), int(column)))


TEXT_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning|note) "
                       r"(?P<code>PP\d{3}) (?P<message>.*)$")


def parse_text(out: str, fail_on_warn: bool) -> list[Finding]:
    """`file:line:column: severity code message`, each followed by indented fix/example/related lines."""
    return [_reported(**m.groupdict()) for line in out.splitlines() if (m := TEXT_LINE.match(line))]


def parse_json(out: str, fail_on_warn: bool) -> list[Finding]:
    return [_reported(item["file"], item["line"], item["column"], item["severity"], item["code"], item["message"])
            for item in json.loads(out)["findings"]]


GITHUB_LINE = re.compile(r"^::(?P<severity>error|warning|notice) file=(?P<file>[^,]*),line=(?P<line>\d+),"
                         r"col=(?P<column>\d+),title=(?P<code>PP\d{3})::(?P<message>.*)$")


def _unescape(text: str) -> str:
    """GitHub workflow-command escapes: %25 % , %0D CR, %0A LF, %3A : and %2C , (properties only)."""
    table = {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: table[m[1]], text)


def parse_github(out: str, fail_on_warn: bool) -> list[Finding]:
    found = []
    for line in out.splitlines():
        if line.startswith("::"):
            m = GITHUB_LINE.match(line)
            assert m, f"malformed annotation {line!r}"
            severity = "note" if m["severity"] == "notice" else m["severity"]  # a fold is a ::notice
            found.append(_reported(_unescape(m["file"]), m["line"], m["column"], severity, m["code"],
                                   _unescape(m["message"])))
    return found


def parse_sarif(out: str, fail_on_warn: bool) -> list[Finding]:
    run = json.loads(out)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    found = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"], result
        where = result["locations"][0]["physicalLocation"]
        found.append(_reported(str(Path(where["artifactLocation"]["uri"])), where["region"]["startLine"],
                               where["region"]["startColumn"], result["level"], result["ruleId"],
                               result["message"]["text"]))
    return found


JUNIT_FAILURE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")


def parse_junit(out: str, fail_on_warn: bool) -> list[Finding]:
    """Failures (errors, and warnings under --fail-on-warn) and the warnings noted in system-out, per file."""
    found = []
    for case in ElementTree.fromstring(out).iter("testcase"):
        for failure in case.iter("failure"):
            m = JUNIT_FAILURE.match(failure.get("message", ""))
            assert m and m["file"] == case.get("classname"), ElementTree.tostring(failure, encoding="unicode")
            severity = (failure.text or "").split(" ", 1)[0]
            assert severity == "error" or fail_on_warn, f"a warning failed without --fail-on-warn:\n{out}"
            found.append(_reported(m["file"], m["line"], m["column"], severity, failure.get("type", ""),
                                   m["message"]))
        for note in (case.findtext("system-out") or "").splitlines():
            m = TEXT_LINE.match(note)
            assert m and m["file"] == case.get("classname"), f"unexpected note {note!r}"
            assert m["severity"] == "note" or not fail_on_warn, f"a warning passed under --fail-on-warn: {note!r}"
            found.append(_reported(**m.groupdict()))
    return found


PARSERS: dict[str, Callable[[str, bool], list[Finding]]] = {
    "text": parse_text, "json": parse_json, "github": parse_github, "sarif": parse_sarif, "junit": parse_junit,
}


@pytest.mark.parametrize(("spec", "fmt"), [s.param(fmt) for s in SPECS for fmt in FORMATS])
def test_cli_reports_the_findings_in_every_format(spec: Spec, fmt: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    case = spec.build(tmp_path)
    monkeypatch.chdir(case.root)
    result = _run(case, fmt)
    assert result.exit_code == case.exit_code, result.output
    assert_reports_exactly(case, PARSERS[fmt](result.stdout, False))
    if case.exit_code == 0 and fmt in ("text", "junit"):  # warnings only: --fail-on-warn turns them into failures
        strict = _run(case, fmt, "--fail-on-warn")
        assert strict.exit_code == 1, strict.output
        assert_reports_exactly(case, PARSERS[fmt](strict.stdout, True))


# --- the suite itself -------------------------------------------------------------------------------------------

def test_every_finding_code_has_a_fixture() -> None:
    """A new finding code without a broken fixture fails here (fixtures of known bugs do not count)."""
    assert set(NOT_REQUIRED) <= set(CODES), "NOT_REQUIRED names a code that is no longer registered"
    covered = set().union(*(spec.codes for spec in SPECS if spec.name not in XFAIL))
    missing = sorted(set(CODES) - covered - set(NOT_REQUIRED))
    assert not missing, f"no broken fixture produces {missing}: add tests/fixtures/broken/wrong_<what>.yaml"


def test_fixtures_follow_the_conventions() -> None:
    problems: list[str] = []
    for path in sorted(BROKEN.rglob("*.yaml")):
        header = read_header(path)
        problems.extend(header.problems)
        top = path.relative_to(SCENARIOS if SCENARIOS in path.parents else BROKEN).parts[0]
        if not top.startswith("wrong_"):
            problems.append(f"{_name(path, BROKEN)}: fixtures are named wrong_<what>.yaml (or live in wrong_<what>/)")
    for spec in SPECS:
        if not spec.codes:
            problems.append(f"{spec.name}: declares no '# expect:' line")
        if "PP999" in spec.codes:
            problems.append(f"{spec.name}: PP999 is never an expected finding")
    stale = sorted(set(XFAIL) - {spec.name for spec in SPECS})
    assert not problems and not stale, "\n".join(problems + [f"XFAIL names no case: {name}" for name in stale])


def test_quarter_fixture_is_infeasible_only_through_the_quarters_interplay() -> None:
    """wrong_calendar_infeasible_quarters: 7 a quarter with runs <= 2 and gaps >= 2 fits each quarter alone, and
    Q1 + Q2 together, but not Q1 + Q2 + Q3 (the fixture would be pointless if one quarter alone were impossible)."""
    quarters = (("Q1", 1, 14), ("Q2", 14, 27), ("Q3", 27, 40))
    assert feasible(13, (("Q", 1, 14),), (True,) * 13, (), 2, 2, 7) == ""
    assert feasible(26, quarters[:2], (True,) * 26, (), 2, 2, 7) == ""
    assert "Q3" in (feasible(39, quarters, (True,) * 39, (), 2, 2, 7) or "")
