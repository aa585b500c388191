"""Trust (issue 16): an anchored chain, signed decisions, versions verified before they are shown, approval from
the store alone (re-simulated exactly), identities that cannot be typed, safe text, bounded waits, read-only stores.

Every tampering here is done the way someone with write access to the database would: plain SQL.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from test_store_support import World, base_frozen_fixture, db_url_fixture, sql, world_fixture  # noqa: F401 - fixtures

from planner.cli import main
from planner.store import CannotOpen, Conflict, Refused, audit, identity
from planner.store.hashing import chain_hash
from planner.store.schema import audit_log
from planner.store.verify import verify
from planner.store.versions import load, submit
from planner.store.workflow import approve, reject


def run(world: World, *args: str) -> Result:
    user = args[args.index("--as") + 1] if "--as" in args else None
    return CliRunner().invoke(main, [*args, "--db", world.url_as(user) if user else world.url])


def _history(world: World) -> tuple[int, str]:
    """Two versions, a rejection and an approval; returns the head (the anchor someone recorded)."""
    submit(world.store_as("alice"), world.frozen, "alice")
    reject(world.store_as("bob"), "base-2027", 1, "bob", "trim Carrefour")
    submit(world.store_as("alice"), world.variant(budget_used=3_000_000.0), "alice")
    approve(world.store_as("carol"), "base-2027", 2, "carol", "ok")
    with world.store.read() as connection:
        head = audit.head(connection)
    assert head is not None
    return head


def _rows(world: World) -> list[audit.AuditRow]:
    with world.store.read() as connection:
        return audit.rows(connection)


def _recompute_from(world: World, first: int) -> None:
    """Rewrite the chain from row `first` on with fresh hashes, head included: what a careful forger does."""
    rows = _rows(world)
    previous = next((row.row_hash for row in rows if row.seq == first - 1), "0" * 64)
    for row in rows:
        if row.seq < first:
            continue
        fresh = chain_hash(previous, row.content())
        sql(world, "UPDATE audit_log SET prev_hash = :prev, row_hash = :hash WHERE seq = :seq",
            prev=previous, hash=fresh, seq=row.seq)
        previous = fresh
    sql(world, "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", seq=rows[-1].seq, hash=previous)


def _undo_last_approval(world: World) -> None:
    """Truncate: the last row (carol's approval) goes, with its decision and status, and the head moves back."""
    rows = _rows(world)
    sql(world, "DELETE FROM audit_log WHERE seq = :seq", seq=rows[-1].seq)
    sql(world, "DELETE FROM plan_decisions WHERE actor = 'carol'")
    sql(world, "UPDATE plan_versions SET status = 'submitted' WHERE number = 2")
    sql(world, "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", seq=rows[-2].seq,
        hash=rows[-2].row_hash)


def _edit_comment_and_recompute(world: World) -> None:
    """A payload edit (bob's rejection comment), the decisions table edited to match, the chain recomputed."""
    row = next(row for row in _rows(world) if row.action == "reject")
    payload = {**row.payload, "comment": "fine"}
    if world.store.dialect == "postgresql":
        sql(world, "UPDATE audit_log SET payload = CAST(:payload AS JSON) WHERE seq = :seq",
            payload=__import__("json").dumps(payload), seq=row.seq)
    else:
        from planner.store.hashing import canonical_json

        sql(world, "UPDATE audit_log SET payload = :payload WHERE seq = :seq", payload=canonical_json(payload),
            seq=row.seq)
    sql(world, "UPDATE plan_decisions SET comment = 'fine' WHERE actor = 'bob'")
    _recompute_from(world, row.seq)


def _reorder(world: World) -> None:
    rows = _rows(world)
    a, b = rows[-3].seq, rows[-2].seq
    sql(world, "UPDATE audit_log SET seq = -1 WHERE seq = :a", a=a)
    sql(world, "UPDATE audit_log SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(world, "UPDATE audit_log SET seq = :b WHERE seq = -1", b=b)


TAMPERING: dict[str, tuple[Callable[[World], None], bool]] = {
    "edit": (lambda w: sql(w, "UPDATE audit_log SET actor = 'mallory' WHERE action = 'reject'"), True),
    "delete middle": (lambda w: sql(w, "DELETE FROM audit_log WHERE action = 'reject'"), True),
    "delete last": (lambda w: sql(w, "DELETE FROM audit_log WHERE action = 'approve'"), True),
    "reorder": (_reorder, True),
    "truncate and recompute": (_undo_last_approval, False),
    "payload edit and recompute": (_edit_comment_and_recompute, False),
    "table drop": (lambda w: sql(w, "DROP TABLE plan_files"), True),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_tampering_is_found_and_the_anchor_finds_what_the_chain_alone_cannot(world: World, tampering: str) -> None:
    anchor = _history(world)
    assert verify(world.store, anchor).ok
    tamper, alone = TAMPERING[tampering]
    tamper(world)
    assert verify(world.store).ok is not alone  # a careful forger's work passes the chain on its own ...
    anchored = verify(world.store, anchor)
    assert not anchored.ok, tampering  # ... but not the head recorded before
    expect = run(world, "audit", "verify", "--expect", f"{anchor[0]}:{anchor[1]}")
    assert expect.exit_code == 1 and "BROKEN" in expect.stdout


def test_audit_head_prints_the_anchor_and_a_bad_anchor_is_a_usage_error(world: World) -> None:
    anchor = _history(world)
    printed = run(world, "audit", "head")
    assert printed.exit_code == 0 and printed.stdout == f"{anchor[0]}:{anchor[1]}\n"
    assert run(world, "audit", "verify", "--expect", printed.stdout.strip()).exit_code == 0
    submit(world.store_as("alice"), world.variant(budget_used=2_000_000.0), "alice")
    assert run(world, "audit", "verify", "--expect", printed.stdout.strip()).exit_code == 0  # the chain extends it
    bad = run(world, "audit", "verify", "--expect", "12:nothex")
    assert bad.exit_code == 2 and "is not SEQ:HASH" in bad.output


def test_a_forged_approval_in_the_name_of_a_user_who_signs_is_found(world: World, tmp_path: Path) -> None:
    from planner.store.keys import register

    private, public = identity.new_key()
    (tmp_path / "bob.key").write_bytes(private)
    with world.store.write() as connection:
        register(connection, "dana", None, "bob", public)
    submit(world.store_as("alice"), world.frozen, "alice")
    submit(world.store_as("alice"), world.variant(budget_used=3_000_000.0), "alice")
    key = identity.load_key(str(tmp_path / "bob.key"))
    with pytest.raises(Refused, match="bob has a registered signing key: sign the action with --key"):
        approve(world.store_as("bob"), "base-2027", 2, "bob")
    other, _ = identity.new_key()
    (tmp_path / "other.key").write_bytes(other)
    with pytest.raises(Refused, match="not bob's registered key"):
        approve(world.store_as("bob"), "base-2027", 2, "bob", key=identity.load_key(str(tmp_path / "other.key")))
    signed = run(world, "plan", "approve", "base-2027@2", "--as", "bob", "--key", str(tmp_path / "bob.key"))
    assert signed.exit_code == 0, signed.output
    assert verify(world.store).ok and _rows(world)[-1].signature and key is not None
    # the forger appends "bob approved" with a valid hash, decision row and status, the head moved on
    head = _rows(world)[-1]
    forged = audit.AuditRow(head.seq + 1, audit.utc_now(), "bob", "approve", "base-2027", 1,
                            {"status": "approved", "comment": "ok", "decided_at": "2027-01-01T00:00:00.000000Z"},
                            head.row_hash, "")
    digest = chain_hash(head.row_hash, forged.content())
    with world.store.engine.begin() as connection:
        connection.execute(audit_log.insert().values(**{**forged.__dict__, "row_hash": digest}))
        connection.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"), {"seq": forged.seq,
                                                                                    "hash": digest})
    result = verify(world.store)
    assert result.broken_row == forged.seq
    assert any("carries no signature, but bob signs with key" in problem for problem in result.problems)
    logged = run(world, "audit", "log").stdout.splitlines()
    assert logged[-2].endswith("signed") and not logged[-1].endswith("signed")


def test_report_show_list_diff_refuse_a_tampered_version_or_stamp_it(world: World, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0").exit_code == 0
    assert run(world, "plan", "approve", "base-2027@1", "--as", "bob", "--comment", "ok").exit_code == 0
    sql(world, "UPDATE plan_versions SET submitted_by = 'mallory'")
    for args in (("report", "base-2027", "--out", str(tmp_path / "pack")), ("plan", "show", "base-2027"),
                 ("plan", "list"), ("plan", "diff", "base-2027@1", "base-2027@1"),
                 ("plan", "checkout", "base-2027@1", "--out", str(tmp_path / "files"))):
        refused = run(world, *args)
        assert refused.exit_code == 1, (args, refused.output)
        assert ("base-2027 version 1 failed verification" in refused.stderr
                and "no longer matches the content hash its submit row" in refused.stderr), refused.stderr
        assert not (tmp_path / "pack").exists() and not (tmp_path / "files").exists()
    assert run(world, "plan", "approve", "base-2027@1", "--as", "carol").exit_code == 1
    stamped = run(world, "report", "base-2027", "--out", str(tmp_path / "pack"), "--allow-unverified")
    assert stamped.exit_code == 1 and "the pack is stamped UNVERIFIED" in stamped.stderr
    page = (tmp_path / "pack" / "approval-pack.html").read_text(encoding="utf-8")
    assert page.index('<div class="unverified">UNVERIFIED') < page.index("<header>")
    workbook = load_workbook(tmp_path / "pack" / "approval-pack.xlsx")
    assert all(str(sheet["A1"].value).startswith("UNVERIFIED") for sheet in workbook.worksheets)
    shown = run(world, "plan", "show", "base-2027", "--allow-unverified")
    assert shown.exit_code == 1 and shown.stdout.startswith("UNVERIFIED")
    listed = run(world, "plan", "list", "--allow-unverified")
    assert "approved UNVERIFIED" in listed.stdout


def test_a_stored_version_re_simulates_to_its_frozen_totals_exactly(world: World, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.cli.common import simulate
    from planner.prepare import prepare

    sets = ["options.draws=20", "options.seed=7", "rebates.rb-carrefour-growth.tiers.1.rate=3%"]
    options = [word for entry in sets for word in ("--set", entry)]
    submitted = run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", *options)
    assert submitted.exit_code == 0, submitted.output
    stored = load(world.store, "base-2027", 1)
    shutil.rmtree(world.path / "rules")  # nothing on disk any more: everything comes from the store
    exported = run(world, "plan", "checkout", "base-2027@1", "--out", str(tmp_path / "v1"))
    assert exported.exit_code == 0, exported.output
    monkeypatch.chdir(tmp_path / "v1")
    prepared = prepare(Path(stored.frozen.scenario_file), list(stored.frozen.command_line or []))
    again = simulate(prepared)
    assert again.totals.as_dict() == stored.totals  # exactly, not approximately
    assert {a: k.as_dict() for a, k in again.accounts.items()} == stored.accounts
    assert again.uncertainty is not None and stored.frozen.uncertainty is not None


def test_comments_and_names_are_checked_before_any_work_and_printed_safely(world: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.cli import common

    forged_line = "ok\n9  2027-01-01 00:00:00  carol  approve  base-2027 v1  \x1b[32mfine"
    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0").exit_code == 0
    refused = run(world, "plan", "approve", "base-2027@1", "--as", "bob", "--comment", forged_line)
    assert refused.exit_code == 2 and "control characters (U+000A, U+001B)" in refused.stderr
    with pytest.raises(CannotOpen, match="control characters"):
        approve(world.store_as("bob"), "base-2027", 1, "bob", forged_line)
    assert load(world.store, "base-2027", 1).decisions == []
    scenario = (world.path / "scenarios" / "base.yaml").read_text(encoding="utf-8")
    (world.path / "scenarios" / "long.yaml").write_text(scenario.replace("name: Base plan 2027", "name: " + "N" * 250))

    def no_simulation(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the simulation ran before the names were checked")

    monkeypatch.setattr(common, "simulate", no_simulation)
    long_id = run(world, "plan", "submit", "scenarios/long.yaml", "--as", "alice", "--set", "options.draws=0")
    assert long_id.exit_code == 2 and "is 250 characters long; at most 200" in long_id.stderr
    from planner.report.plans import log_text

    row = audit.AuditRow(1, "2027-01-01T00:00:00.000000Z", "bob", "approve", "base-2027", 1,
                         {"comment": forged_line}, "0" * 64, "f" * 64)
    printed = log_text([row])
    assert "\x1b" not in printed and len(printed.splitlines()) == 2 and "\\n9  2027" in printed


def test_a_user_name_typed_in_another_case_or_width_is_the_same_person(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    with world.store.write() as connection:
        from planner.store.roles import set_threshold

        set_threshold(connection, "dana", 1.0)
    approve(world.store_as("bob"), "base-2027", 1, "Bob")
    with pytest.raises(Conflict, match="bob already approved"):
        approve(world.store_as("bob"), "base-2027", 1, "\uff22\uff2f\uff22")  # full-width BOB
    with pytest.raises(CannotOpen, match="is not valid"):
        identity.normalize("bob\u202e")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_on_a_shared_store_typing_another_users_name_does_not_make_you_them(world: World) -> None:
    """On the real PostgreSQL server: alice, logged in as herself, cannot act as bob however she writes it."""
    if world.store.dialect != "postgresql":
        pytest.skip("the shared store is PostgreSQL")
    submit(world.store_as("alice"), world.frozen, "alice")
    for typed in ("bob", "Bob", "\uff42\uff4f\uff42"):
        attempt = CliRunner().invoke(main, ["plan", "approve", "base-2027@1", "--as", typed, "--comment", "ok",
                                            "--db", world.url_as("alice")])
        assert attempt.exit_code == 1, attempt.output
        assert "connected to the plan store as alice and cannot act as bob" in attempt.stderr
    with pytest.raises(Refused, match="connected to the plan store as alice and cannot act as bob"):
        approve(world.store_as("alice"), "base-2027", 1, "bob")
    herself = CliRunner().invoke(main, ["plan", "approve", "base-2027@1", "--db", world.url_as("alice")])
    assert herself.exit_code == 1 and "alice may not approve plans" in herself.stderr  # no --as: the login
    assert load(world.store, "base-2027", 1).decisions == []
    assert approve(world.store_as("bob"), "base-2027", 1, None).version.decisions[0].actor == "bob"


@contextlib.contextmanager
def _holding_the_lock(world: World) -> Iterator[None]:
    """Another action holds the store's write lock until the block ends."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with contextlib.suppress(Exception), world.store.write():  # a writer cut off by the server ends here
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(30)
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def test_a_lock_wait_is_bounded_with_a_clear_exit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.store.database import open_store

    with _holding_the_lock(world):
        monkeypatch.setenv("PLANNER_LOCK_TIMEOUT", "0.5")
        waiting = open_store(world.url_as("alice"))
        try:
            with pytest.raises(Conflict, match="stayed locked by another action for 0.5 s"):
                submit(waiting, world.frozen, "alice")
        finally:
            waiting.close()
    # Back to the default: at 0.5 s a PostgreSQL session idle inside its transaction for that long (the submit's own
    # Python work on a loaded machine) is cut off by the server, which is the next test's subject, not this one's.
    monkeypatch.delenv("PLANNER_LOCK_TIMEOUT")
    assert submit(world.store_as("alice"), world.frozen, "alice").number == 1  # nothing was left behind


def test_a_writer_stopped_inside_its_transaction_is_cut_off(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL ends a session idle inside its transaction after the lock timeout: its lock goes with it."""
    if world.store.dialect != "postgresql":
        pytest.skip("SQLite has no server to cut a stopped writer off; its waiters give up instead")
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT", "0.5")
    with _holding_the_lock(world):
        time.sleep(1.5)  # the holder is idle in its transaction: the server disconnects it
        monkeypatch.setenv("PLANNER_LOCK_TIMEOUT", "10")
        assert submit(world.store_as("alice"), world.frozen, "alice").number == 1


def test_verify_runs_in_one_snapshot_while_others_write(world: World) -> None:
    """A verification racing submissions never reports tampering that did not happen."""
    stop = threading.Event()
    written = []

    def keep_submitting() -> None:
        n = 0
        while not stop.is_set() and n < 30:
            n += 1
            written.append(submit(world.store_as("alice"), world.variant(budget_used=1_000.0 * n), "alice"))

    writer = threading.Thread(target=keep_submitting)
    writer.start()
    results = []
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and writer.is_alive():
            results.append(verify(world.store))
    finally:
        stop.set()
        writer.join(60)
    assert results and written and all(result.ok for result in results), [r.problems for r in results if not r.ok]


def test_verify_and_show_work_on_a_read_only_store(world: World, tmp_path: Path) -> None:
    if world.store.dialect != "sqlite":
        pytest.skip("read-only media concerns the SQLite file")
    submit(world.store_as("alice"), world.frozen, "alice")
    world.store.close()  # the last connection checkpoints the WAL and removes -wal and -shm
    media = tmp_path / "media"
    media.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(media)], check=False,
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a file system here to make read-only")
    try:
        shutil.copy(world.url, media / "plans.db")
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True, capture_output=True)
        verified = CliRunner().invoke(main, ["audit", "verify", "--db", str(media / "plans.db")])
        assert verified.exit_code == 0 and "audit trail intact" in verified.stdout, verified.output
        assert CliRunner().invoke(main, ["plan", "show", "base-2027", "--db", str(media / "plans.db")]).exit_code == 0
    finally:
        subprocess.run(["umount", str(media)], check=False, capture_output=True)
