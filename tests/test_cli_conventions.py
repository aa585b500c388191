"""The command-line conventions every command keeps (issue 13), checked on real `planner` processes.

- `planner --version` and `-h` everywhere; an example in every command's help.
- Exit codes: 0 done, 1 findings or refused, 2 cannot run (usage, unreadable input, bad `--set` value, no plan
  store), 130 Ctrl-C with one line on stderr and no traceback.
- A version is `SCENARIO@N` in approve, reject, show, diff and report; `--version N` is an alias on approve,
  reject and show.
- `--set` reads numbers as planners type them, or says exactly how to write them; unknown ids get a did-you-mean.
- Commands that only read never create a plan store or its folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from test_store_support import ROOT, copy_demo, db_url_fixture  # noqa: F401 - the db_url fixture

from planner.cli import main
from planner.rules.scenario import NUMBER_FORMS, read_number

SCRIPT = Path(sys.executable).parent / "planner"
PLANNER = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "planner"]
"""The installed `planner` script (what people and CI run), else `python -m planner`."""
BASE = "scenarios/base.yaml"
CLEAN_ENV = {key: value for key, value in os.environ.items()
             if key not in ("PLANNER_DB", "PLANNER_ROLES", "PLANNER_USER", "PLANNER_DEBUG")}


def planner(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `planner ARGS` as a real process, as CI would."""
    return subprocess.run([*PLANNER, *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=CLEAN_ENV, timeout=timeout)


def no_traceback(done: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in done.stdout + done.stderr


@pytest.fixture(name="demo")
def demo_fixture(tmp_path: Path) -> Path:
    """A copy of the demo's rules and scenarios (and a roles file), so nothing is written into the repository."""
    return copy_demo(tmp_path / "demo")


# --- --version, -h, examples ----------------------------------------------------------------------------------


def test_version_and_short_help() -> None:
    version = planner("--version")
    assert (version.returncode, version.stdout) == (0, f"planner (Promo Planner) {metadata.version('promo-planner')}\n")
    short = planner("-h")
    assert short.returncode == 0 and short.stdout.startswith("Usage: planner [OPTIONS] COMMAND")
    assert short.stdout == planner("--help").stdout
    nested = planner("plan", "approve", "-h")
    assert nested.returncode == 0 and "Usage: planner plan approve [OPTIONS] SCENARIO@N" in nested.stdout


def test_the_program_version_does_not_clash_with_the_version_alias(tmp_path: Path) -> None:
    """`planner --version` is the program's; `planner plan show X --version N` names a plan version."""
    assert planner("--version", "plan", "list", cwd=tmp_path).stdout.startswith("planner (Promo Planner) ")
    shown = planner("plan", "show", "base-2027", "--version", "1", cwd=tmp_path)
    assert shown.returncode == 2 and "there is no plan store at" in shown.stderr and "Promo Planner" not in shown.stdout


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_an_example_in_its_help() -> None:
    paths = list(_commands(main))
    assert len(paths) >= 24, paths
    missing = []
    for path in [(), *paths]:
        result = CliRunner().invoke(main, [*path, "-h"])
        assert result.exit_code == 0, result.output
        text = result.stdout.split("Options:")[0]
        if "Example" not in text or f"planner {' '.join(path)}".strip() not in text:
            missing.append(" ".join(path) or "planner")
    assert not missing, f"no example naming the command in the help of: {missing}"


# --- Ctrl-C ---------------------------------------------------------------------------------------------------


def _interrupt_when_running(args: list[str], cwd: Path, marker: str, stderr_marker: str = "") -> subprocess.CompletedProcess[str]:
    """Start `planner ARGS`, wait until the command itself runs (`marker` is a library it loads lazily, and
    `stderr_marker` a line it prints), press Ctrl-C, and collect what it printed. A test runner started in the
    background ignores SIGINT, and a child inherits an ignored signal; a handled one is reset to the default on
    exec, so handle it while starting."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([*PLANNER, *args], cwd=cwd, env=CLEAN_ENV, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    printed: dict[str, list[str]] = {"out": [], "err": []}
    readers = [threading.Thread(target=lambda name=name, stream=stream: printed[name].extend(stream), daemon=True)
               for name, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 240
        maps = Path(f"/proc/{process.pid}/maps")
        while (marker not in maps.read_text(encoding="utf-8", errors="replace")
               or not any(line.startswith(stderr_marker) for line in printed["err"] or [""])):
            assert process.poll() is None, "".join(printed["err"])
            assert time.monotonic() < deadline, f"{marker} / {stderr_marker} never came"
            time.sleep(0.2)
        time.sleep(1.0)  # inside the Monte Carlo loop (or the solve), not between imports
        assert process.poll() is None, "the command finished before it could be interrupted"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(printed["out"]),
                                       "".join(printed["err"]))


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see when the command runs")
def test_ctrl_c_during_a_long_simulation_exits_130_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = _interrupt_when_running(["simulate", BASE, "--draws", "100000", "--out", str(out)], ROOT,
                                   "_multiarray_umath")
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted\n"
    assert done.stdout == "" and not out.exists()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see when the command runs")
def test_ctrl_c_during_an_approval_pack_simulation_exits_130(demo: Path) -> None:
    done = _interrupt_when_running(["report", BASE, "--draws", "100000", "--out", "pack"], demo, "_multiarray_umath")
    assert (done.returncode, done.stderr) == (130, "interrupted\n")
    assert not (demo / "pack").exists() and not (demo / ".planner" / "plans.db").exists()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see when the command runs")
def test_ctrl_c_during_optimize_keeps_the_best_plan_and_exits_130(tmp_path: Path) -> None:
    """The optimizer winds down on Ctrl-C: the best plan found so far is printed and written, then exit 130 with
    one last line on stderr (after the progress lines, which go to stderr always)."""
    out = tmp_path / "optimized"
    done = _interrupt_when_running(["optimize", BASE, "--time-limit", "600", "--out", str(out), "--format", "json"],
                                   ROOT, "highspy", stderr_marker="build:")
    assert done.returncode == 130, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1] == "interrupted: the best plan found so far is above" and "Traceback" not in done.stderr
    assert sum(line.startswith("interrupted") for line in lines) == 1
    assert json.loads(done.stdout)["status"] and (out / "plan.yaml").is_file()


# --- exit codes, the same in every command -----------------------------------------------------------------------

BAD_SCENARIO = "scenario:\n  id: bad\n  rules: ../rules\n  overrides:\n    budgets.bud-total-2027.maximum: 1000\n"


@pytest.mark.parametrize(("args", "code", "says"), [
    (("validate", "rules", BASE), 0, "no findings"),
    (("validate", "scenarios/bad.yaml"), 1, "PP501"),
    (("validate", "nowhere"), 2, "path does not exist: nowhere"),
    (("validate", "rules", "--format", "xml"), 2, "Invalid value for '--format'"),
    (("schema", "--nope"), 2, "No such option '--nope'"),
    (("simulate", BASE, "--draws", "0", "--format", "json"), 0, ""),
    (("simulate", "scenarios/bad.yaml"), 1, "scenarios/bad.yaml:5:5"),
    (("simulate", "nowhere.yaml"), 2, "path does not exist: nowhere.yaml"),
    (("simulate", BASE, "--draws", "-1"), 2, "Invalid value for '--draws'"),
    (("simulate", BASE, "--set", "budgets.bud-total-2027.max=4,5M"), 2, NUMBER_FORMS),
    (("simulate", BASE, "--set", "options.draws"), 2, "--set expects key=value"),
    (("compare", BASE), 2, "compare needs at least two scenarios"),
    (("compare", BASE, "scenarios/bad.yaml"), 1, "scenarios/bad.yaml:5:5"),
    (("compare", BASE, "scenarios/summer-push.yaml", "--set", "budgets.bud-q9.max=1"), 2,
     "unknown budget id 'bud-q9'"),
    (("optimize", "scenarios/bad.yaml"), 1, "scenarios/bad.yaml:5:5"),
    (("optimize", "nowhere.yaml"), 2, "path does not exist"),
    (("optimize", BASE, "--set", "options.time_limit=soon"), 2, NUMBER_FORMS),
    (("plan", "submit", BASE, "--as", "alice", "--set", "rebates.rb-carefour-growth.tiers.1.rate=3%"), 2,
     "did you mean 'rb-carrefour-growth'?"),
    (("plan", "approve", "base-2027", "--as", "bob"), 2, "name the version you decide on: base-2027@N"),
    (("plan", "approve", "base-2027@x", "--as", "bob"), 2, "write SCENARIO or SCENARIO@N"),
    (("plan", "reject", "base-2027@1", "--version", "2", "--as", "bob", "--comment", "no"), 2,
     "names version 1 but --version says 2"),
    (("report", "base-2027@0", "--out", "pack"), 2, "write SCENARIO or SCENARIO@N"),
    (("report", "scenarios/bad.yaml", "--out", "pack"), 1, "scenarios/bad.yaml:5:5"),
    (("role", "threshold", "lots", "--as", "dana"), 2, NUMBER_FORMS),
    (("audit", "verify"), 2, "there is no plan store at"),
])
def test_exit_codes_are_the_same_in_every_command(demo: Path, args: tuple[str, ...], code: int, says: str) -> None:
    (demo / "scenarios" / "bad.yaml").write_text(BAD_SCENARIO, encoding="utf-8")
    done = planner(*args, cwd=demo)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stdout + done.stderr
    assert no_traceback(done)
    if code == 2:
        assert done.stderr.strip(), "a command that cannot run says why on stderr"


def test_refused_is_exit_1_and_a_version_is_scenario_at_n(demo: Path) -> None:
    """submit, then: approving one's own plan is refused (1); approve, show, diff and report take SCENARIO@N."""
    assert planner("plan", "submit", BASE, "--as", "alice", "--set", "options.draws=0", cwd=demo).returncode == 0
    own = planner("plan", "approve", "base-2027@1", "--as", "alice", cwd=demo)
    assert own.returncode == 1 and "alice may not approve plans" in own.stderr and no_traceback(own)
    approved = planner("plan", "approve", "base-2027@1", "--as", "bob", "--comment", "ok", cwd=demo)
    assert (approved.returncode, approved.stdout) == (0, "base-2027 version 1: approved (by bob)\n")
    again = planner("plan", "approve", "base-2027", "--version", "1", "--as", "carol", cwd=demo)  # the alias
    assert again.returncode == 1 and "already approved" in again.stderr
    shown = planner("plan", "show", "base-2027@1", "--format", "json", cwd=demo)
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "approved"
    alias = planner("plan", "show", "base-2027", "--version", "1", "--format", "json", cwd=demo)
    assert json.loads(alias.stdout) == json.loads(shown.stdout)
    missing = planner("plan", "show", "base-2027@2", cwd=demo)
    assert missing.returncode == 2 and "has no version 2" in missing.stderr
    submitted = planner("plan", "submit", BASE, "--as", "alice", "--set", "options.draws=0",
                        "--set", "budgets.bud-total-2027.max=4.8M", cwd=demo)
    assert submitted.returncode == 0, submitted.stderr
    diff = planner("plan", "diff", "base-2027@1", "base-2027@2", cwd=demo)
    assert diff.returncode == 0 and "budgets.bud-total-2027.max = 4800000 (written 4.8M)" in diff.stdout
    rejected = planner("plan", "reject", "base-2027@2", "--as", "bob", "--comment", "no", cwd=demo)
    assert (rejected.returncode, rejected.stdout) == (0, "base-2027 version 2: rejected (by bob)\n")
    pack = planner("report", "base-2027@1", "--out", "pack", cwd=demo)
    assert pack.returncode == 0 and pack.stdout.startswith("approval pack of base-2027 version 1 (approved)")


# --- --set: numbers as planners type them, did-you-mean on ids ----------------------------------------------------


@pytest.mark.parametrize(("written", "value"), [
    ("4500000", 4_500_000), ("4,500,000", 4_500_000), ("4_500_000", 4_500_000), ("4.5M", 4_500_000),
    ("4.5m", 4_500_000), ("450k", 450_000), ("450K", 450_000), ("1.2B", 1_200_000_000), ("2bn", 2_000_000_000),
    ("450万", 4_500_000), ("1.2亿", 120_000_000), ("12%", 0.12), ("2.5%", 0.025), ("-3%", -0.03),
    ("4,500,000.50", 4_500_000.5), ("1.25k", 1250), (".5M", 500_000), ("4.5 M", 4_500_000),
])
def test_planner_numbers_are_read(written: str, value: float) -> None:
    assert read_number(written) == value
    assert isinstance(read_number(written), int) == isinstance(value, int)


@pytest.mark.parametrize("written", ["4,5M", "4.500.000", "45,00,000", "4.5MM", "4.5 million", "abc", "1,2,3",
                                     "2027-03-01", "", "M", "%"])
def test_other_writings_are_not_numbers(written: str) -> None:
    assert read_number(written) is None


def test_set_numbers_apply_and_the_log_shows_how_they_were_written() -> None:
    done = planner("simulate", BASE, "--draws", "0", "--format", "json",
                   "--set", "budgets.bud-total-2027.max=4.5M", "--set", "budgets.bud-q3.max=1,530,000",
                   "--set", "rebates.rb-carrefour-growth.tiers.1.rate=3%")
    assert done.returncode == 0, done.stderr
    applied = [line for line in json.loads(done.stdout)["applied_overrides"] if "(command line" in line]
    assert [line.split(" (command line")[0] for line in applied] == [
        "options.draws = 0",
        "budgets.bud-total-2027.max = 4500000 (written 4.5M)",
        "budgets.bud-q3.max = 1530000 (written 1,530,000)",
        "rebates.rb-carrefour-growth.tiers.1.rate = 0.03 (written 3%)"]
    quoted = planner("simulate", BASE, "--draws", "0", "--set", 'budgets.bud-total-2027.max="4.5M"')
    assert quoted.returncode == 2 and "max: expected a number (got '4.5M')" in quoted.stderr


@pytest.mark.parametrize(("path", "says"), [
    ("budgets.bud-totl-2027.max=1", "unknown budget id 'bud-totl-2027'; did you mean 'bud-total-2027'?"),
    ("budget.bud-total-2027.max=1", "'budget' is not a rule section; did you mean 'budgets'?"),
    ("budgets.bud-total-2027.maxx=1", "has no field 'maxx'; did you mean 'max'?"),
    ("product_groups.pg-cola-pett.products=[cola-pet-500]", "unknown product group id 'pg-cola-pett'; did you mean"),
    ("options.drawz=5", "unknown option 'drawz'; did you mean 'draws'?"),
])
def test_unknown_ids_in_set_paths_get_a_did_you_mean_and_exit_2(path: str, says: str) -> None:
    done = planner("simulate", BASE, "--draws", "0", "--set", path)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and done.stderr.startswith("<command line>:1:1: error") and no_traceback(done)


# --- commands that only read never create a store --------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("audit", "verify"), ("audit", "log"), ("plan", "list"), ("plan", "show", "base-2027"),
    ("plan", "diff", "base-2027@1", "base-2027@2"), ("role", "list"), ("report", "base-2027@1", "--out", "pack"),
])
def test_read_only_commands_never_create_a_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = planner(*args, cwd=tmp_path)
    store = tmp_path / ".planner" / "plans.db"
    assert done.returncode == 2 and f"there is no plan store at {store}" in done.stderr and no_traceback(done)
    assert list(tmp_path.iterdir()) == []
    elsewhere = tmp_path / "a" / "b" / "plans.db"
    named = planner(*args, "--db", str(elsewhere), cwd=tmp_path)
    assert named.returncode == 2 and str(elsewhere) in named.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_is_no_store_and_stays_empty(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """On PostgreSQL an empty database (schema) is not migrated by a command that only reads."""
    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(main, ["plan", "list", "--db", db_url])
    assert listed.exit_code == 2 and "no plan store" in listed.stderr
    from planner.store.database import open_store, revisions

    store = open_store(db_url, migrate=False)
    try:
        assert revisions(store)[0] is None  # still no tables
    finally:
        store.close()


def test_a_draft_pack_without_a_store_creates_none(demo: Path) -> None:
    done = planner("report", BASE, "--draws", "0", "--out", "pack", cwd=demo)
    assert done.returncode == 0, done.stderr
    assert "no earlier version to compare with" in done.stdout
    assert not (demo / ".planner" / "plans.db").exists()
