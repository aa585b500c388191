"""Plan versions: what a submission freezes, how it is stored, and how a report reads it back.

A version is immutable. It freezes the scenario (id, file, resolved options, the applied-override log), the sha256
of every file it was built from (the scenario and the scenarios it extends, every rule file, the plan file), the
plan's events, the simulated totals, per-account results and policy checks, who submitted it and when. Its
`content_sha256` covers all of that; the submit audit row records it, so `planner audit verify` notices a version
edited in the database. A change is a new version, numbered per scenario (1, 2, ...); submitting one supersedes
the scenario's version still waiting for a decision.

The exact bytes of every file are kept too (`planner.store.files`), so a version can be approved, reported and
re-simulated with nothing but the store; `command_line` keeps the `--set` entries the scenario was resolved with.
A submission looks up an identical earlier plan by `basis_sha256` (one indexed query), so its time inside the write
lock does not grow with the number of earlier versions.

`load()` gives a report (the approval pack) everything it needs: `Version.totals`, `Version.accounts` (account ->
KPIs), `Version.details` (growth, uncertainty and the
annual plan summary of `planner.account_plans` per account), `Version.policy`, `Version.uncertainty` and the
decisions taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from planner.account_plans import account_plans
from planner.store import audit, files, identity, keys, roles
from planner.store.database import Store
from planner.store.errors import CannotOpen, Conflict, NotFound, Refused
from planner.store.hashing import content_hash
from planner.store.schema import (
    ID,
    PATH,
    TITLE,
    plan_account_results,
    plan_decisions,
    plan_rule_files,
    plan_versions,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from planner.results import Simulation
    from planner.rules.scenario import Resolved

DRAFT, SUBMITTED, APPROVED, REJECTED, SUPERSEDED = "draft", "submitted", "approved", "rejected", "superseded"


@dataclass(frozen=True)
class Frozen:
    """Everything a version freezes except its number and who submitted it when."""

    scenario: str
    name: str
    scenario_file: str
    workdir: str
    year: int
    currency: str
    options: dict[str, Any]
    applied: list[str]
    plan_source: str
    events: list[dict[str, Any]]
    rule_files: dict[str, tuple[str, str]]
    """path (as submitted, relative to the working directory) -> (kind: scenario|rules|plan, sha256)."""
    totals: dict[str, float]
    accounts: dict[str, dict[str, float]]
    details: dict[str, dict[str, Any]]
    policy: list[dict[str, Any]]
    uncertainty: dict[str, Any] | None
    command_line: list[str] | None = None
    """The `--set` entries (and --draws/--seed/--plan as `options.X=`) the scenario was resolved with; None for a
    version stored before the store kept them (its content hash then covers no such field)."""
    sources: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    """path -> the exact bytes, when freshly frozen (a version read back has its bytes in the store instead)."""

    def basis(self) -> dict[str, Any]:
        """The terms a decision is taken on: same basis, same plan (the work directory does not count)."""
        data = {item.name: getattr(self, item.name) for item in fields(self)
                if item.name not in ("workdir", "sources")}  # shallow: the documents are plain JSON already
        if self.command_line is None:
            data.pop("command_line")
        data["rule_files"] = {path: list(value) for path, value in self.rule_files.items()}
        return data


@dataclass(frozen=True)
class Decision:
    actor: str
    decision: str
    comment: str
    at: str


@dataclass(frozen=True)
class Version:
    """One stored version, as a report reads it."""

    id: int
    number: int
    frozen: Frozen
    content_sha256: str
    submitted_by: str
    submitted_at: str
    status: str
    revision: int
    decisions: list[Decision] = field(default_factory=list)
    title: str | None = None
    """What the planner called the submission (`plan submit --label`, e.g. "Q1 revision"); None: no title."""

    @property
    def scenario(self) -> str:
        return self.frozen.scenario

    @property
    def label(self) -> str:
        if self.status == DRAFT:
            return f"{self.scenario} (draft, not submitted)"
        return f"{self.scenario} version {self.number}" + (f' "{self.title}"' if self.title else "")

    @property
    def totals(self) -> dict[str, float]:
        return self.frozen.totals

    @property
    def accounts(self) -> dict[str, dict[str, float]]:
        return self.frozen.accounts

    @property
    def budget_used(self) -> float:
        return float(self.frozen.totals.get("budget_used", 0.0))

    def content(self) -> dict[str, Any]:
        return content_of(self.frozen, self.number, self.submitted_by, self.submitted_at, self.title)

    def approvals(self) -> list[Decision]:
        return [d for d in self.decisions if d.decision == "approve"]


def content_of(frozen: Frozen, number: int, submitted_by: str, submitted_at: str,
               title: str | None = None) -> dict[str, Any]:
    """What `content_sha256` is taken over: the title too when there is one (a version without one hashes as
    before the store kept titles)."""
    content = {**frozen.basis(), "workdir": frozen.workdir, "number": number, "submitted_by": submitted_by,
               "submitted_at": submitted_at}
    return content | ({"title": title} if title is not None else {})


def freeze(resolved: Resolved, simulation: Simulation, paths: Sequence[str], events: Sequence[Any],
           workdir: Path | None = None, command_line: Sequence[str] = ()) -> Frozen:
    """Freeze a resolved scenario and its simulation. `paths` are the display names of every file used (scenario
    chain, rule files, plan file), `events` the plan's events (rule objects) and `command_line` the `--set`
    entries the scenario was resolved with."""
    chain = set(resolved.chain)
    plan = {simulation.plan_source} if simulation.plan_source != "rules" else set()
    hashes, sources = {}, {}
    for name in dict.fromkeys(paths):
        kind = "scenario" if name in chain else "plan" if name in plan else "rules"
        data = Path(name).read_bytes()
        hashes[name], sources[name] = (kind, hashlib.sha256(data).hexdigest()), data
    plans = account_plans(resolved.rules, events, simulation)
    details: dict[str, dict[str, Any]] = {account: {"growth": simulation.growth.get(account),
                                                    "plan": plans.get(account)}
                                          for account in simulation.accounts}
    uncertainty = None
    if simulation.uncertainty is not None:
        spread = simulation.uncertainty
        uncertainty = {"draws": spread.draws, "seed": spread.seed,
                       "totals": {key: asdict(value) for key, value in spread.totals.items()}}
        for account, values in spread.accounts.items():
            details.setdefault(account, {})["uncertainty"] = {key: asdict(v) for key, v in values.items()}
        for account, probability in spread.target_probability.items():
            details.setdefault(account, {})["target_probability"] = probability
    return Frozen(
        scenario=resolved.id, name=resolved.name, scenario_file=resolved.file,
        workdir=str((workdir or Path.cwd()).absolute()), year=simulation.year, currency=simulation.currency,
        options=resolved.options.model_dump(mode="json"), applied=list(simulation.applied_overrides),
        plan_source=simulation.plan_source, events=[event.model_dump(mode="json") for event in events],
        rule_files=hashes, totals=simulation.totals.as_dict(),
        accounts={account: kpis.as_dict() for account, kpis in simulation.accounts.items()},
        details=details, policy=[asdict(check) for check in simulation.policy], uncertainty=uncertainty,
        command_line=list(command_line), sources=sources)


def check_names(scenario: str, name: str, paths: Sequence[str]) -> None:
    """What the store keeps must fit its columns and print safely: checked before a scenario is simulated."""
    identity.check_text(f"scenario id {identity.printable(scenario)!r}", scenario, ID)
    identity.check_text(f"the name of scenario {scenario}", name, 200)
    for path in paths:
        identity.check_text(f"file name {identity.printable(path)!r}", path, PATH)


def check_title(title: str | None) -> str | None:
    """A title as the store keeps it: trimmed, printable, at most TITLE characters; None when empty."""
    if title is None or not title.strip():
        return None
    title = title.strip()
    identity.check_text("the version's title (--label)", title, TITLE)
    return title


def draft(frozen: Frozen) -> Version:
    """A simulated plan that is not in the store (number 0, status draft): what a report of a scenario file shows
    before anyone submits it."""
    return Version(0, 0, frozen, content_hash(content_of(frozen, 0, "", "")), "", "", DRAFT, 0)


def submit(store: Store, frozen: Frozen, actor: str | None, key: Ed25519PrivateKey | None = None,
           title: str | None = None) -> Version:
    """Store `frozen` as the scenario's next version, submitted by the acting user (`actor` on a single-user store,
    the login on a shared one), in one transaction with its audit row (signed with `key` when the user has one).
    `title` names the submission ("Q1 revision"): kept with the version, covered by its content hash, and in the
    audit row; it is no part of the plan's terms (the same plan under another title is still a duplicate)."""
    check_names(frozen.scenario, frozen.name, list(frozen.rule_files))
    title = check_title(title)
    missing = sorted(set(frozen.rule_files) - set(frozen.sources))
    if missing:
        raise CannotOpen(f"the bytes of {', '.join(missing)} were not kept when the plan was frozen: freeze it again")
    basis = content_hash(frozen.basis())
    with store.write() as connection:
        user = identity.acting(connection, actor)
        roles.first_use(connection, user)
        roles.require(connection, user, "planner", "submit plans")
        signer = keys.signer(connection, user, key)
        _refuse_duplicate(connection, frozen, basis)
        last = connection.scalar(select(func.max(plan_versions.c.number))
                                 .where(plan_versions.c.scenario == frozen.scenario))
        number = int(last or 0) + 1
        pending = connection.execute(select(plan_versions.c.id, plan_versions.c.number, plan_versions.c.revision)
                                     .where(plan_versions.c.scenario == frozen.scenario,
                                            plan_versions.c.status == SUBMITTED)
                                     .order_by(plan_versions.c.number)).all()
        at = audit.utc_now()
        version_id, digest = _insert(connection, frozen, number, user, at, basis, title)
        for earlier_id, earlier_number, revision in pending:
            _move(connection, earlier_id, revision, SUPERSEDED, f"{frozen.scenario} version {earlier_number}")
        audit.append(connection, user, "submit", {
            "status": SUBMITTED, "content_sha256": digest, "version_id": version_id,
            "rule_files": {path: sha for path, (_, sha) in sorted(frozen.rule_files.items())},
            "budget_used": float(frozen.totals.get("budget_used", 0.0)),
            "supersedes": [earlier_number for _, earlier_number, _ in pending],
        } | ({"title": title} if title is not None else {}), scenario=frozen.scenario, version=number, key=signer)
        return version_at(connection, frozen.scenario, number)


def _refuse_duplicate(connection: Connection, frozen: Frozen, basis: str) -> None:
    """An approved or pending version holding exactly these terms (by `basis_sha256`; a version stored before
    that column is compared in full)."""
    live = plan_versions.c.status.in_((SUBMITTED, APPROVED))
    query = select(plan_versions.c.number, plan_versions.c.basis_sha256).where(
        plan_versions.c.scenario == frozen.scenario, live,
        (plan_versions.c.basis_sha256 == basis) | plan_versions.c.basis_sha256.is_(None))
    for number, stored_basis in connection.execute(query.order_by(plan_versions.c.number.desc())).all():
        earlier = version_at(connection, frozen.scenario, number)
        if stored_basis == basis or earlier.frozen.basis() == frozen.basis():
            raise Refused(f"{earlier.label} ({earlier.status}, by {earlier.submitted_by} at "
                          f"{earlier.submitted_at}) already holds exactly this plan: nothing new to submit")


def _insert(connection: Connection, frozen: Frozen, number: int, actor: str, at: str,
            basis: str, title: str | None) -> tuple[int, str]:
    """The version row, then its files, then its accounts: a failure between them rolls all of them back."""
    digest = content_hash(content_of(frozen, number, actor, at, title))
    inserted = connection.execute(plan_versions.insert().values(
        scenario=frozen.scenario, number=number, name=frozen.name, scenario_file=frozen.scenario_file,
        workdir=frozen.workdir, year=frozen.year, currency=frozen.currency, options=frozen.options,
        applied=frozen.applied, plan_source=frozen.plan_source, events=frozen.events, totals=frozen.totals,
        policy=frozen.policy, uncertainty=frozen.uncertainty, content_sha256=digest, submitted_by=actor,
        submitted_at=at, status=SUBMITTED, revision=0, command_line=frozen.command_line, basis_sha256=basis,
        title=title))
    key = inserted.inserted_primary_key
    assert key is not None, "the version row has no id"
    version_id = int(key[0])
    files.put(connection, frozen.sources)
    _insert_files(connection, version_id, frozen)
    _insert_accounts(connection, version_id, frozen)
    return version_id, digest


def _insert_files(connection: Connection, version_id: int, frozen: Frozen) -> None:
    rows = [{"version_id": version_id, "path": path, "kind": kind, "sha256": sha}
            for path, (kind, sha) in frozen.rule_files.items()]
    if rows:
        connection.execute(plan_rule_files.insert(), rows)


def _insert_accounts(connection: Connection, version_id: int, frozen: Frozen) -> None:
    rows = [{"version_id": version_id, "account": account, "kpis": kpis, "details": frozen.details.get(account, {})}
            for account, kpis in frozen.accounts.items()]
    if rows:
        connection.execute(plan_account_results.insert(), rows)


def set_status(connection: Connection, version: Version, status: str) -> Version:
    """Move a version to `status` if nobody changed it since it was read (the optimistic revision counter)."""
    _move(connection, version.id, version.revision, status, version.label)
    return replace(version, status=status, revision=version.revision + 1)


def _move(connection: Connection, version_id: int, revision: int, status: str, label: str) -> None:
    moved = connection.execute(update(plan_versions)
                               .where(plan_versions.c.id == version_id, plan_versions.c.revision == revision)
                               .values(status=status, revision=revision + 1))
    if moved.rowcount != 1:
        raise Conflict(f"{label} was changed by another action at the same time; look again with "
                       "'planner plan show' and retry")


def numbers(connection: Connection, scenario: str) -> list[int]:
    query = select(plan_versions.c.number).order_by(plan_versions.c.number)
    return [n for (n,) in connection.execute(query.where(plan_versions.c.scenario == scenario))]


def scenarios(connection: Connection) -> list[str]:
    return list(connection.scalars(select(plan_versions.c.scenario).distinct().order_by(plan_versions.c.scenario)))


def version_at(connection: Connection, scenario: str, number: int | None = None, *, lock: bool = False) -> Version:
    """One version (the latest when `number` is None); `lock` takes its row lock for a decision."""
    query = select(plan_versions).where(plan_versions.c.scenario == scenario)
    query = query.where(plan_versions.c.number == number) if number is not None else \
        query.order_by(plan_versions.c.number.desc()).limit(1)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        known = numbers(connection, scenario)
        if not known:
            others = ", ".join(scenarios(connection)) or "none yet"
            raise NotFound(f"no versions of scenario '{scenario}' in the plan store (scenarios: {others})")
        raise NotFound(f"scenario '{scenario}' has no version {number} (versions: "
                       f"{', '.join(str(n) for n in known)})")
    return _version(connection, row._mapping)


def _version(connection: Connection, row: Any) -> Version:
    version_id = row["id"]
    files = {path: (kind, sha) for path, kind, sha in connection.execute(
        select(plan_rule_files.c.path, plan_rule_files.c.kind, plan_rule_files.c.sha256)
        .where(plan_rule_files.c.version_id == version_id).order_by(plan_rule_files.c.path))}
    accounts, details = {}, {}
    for account, kpis, extra in connection.execute(
            select(plan_account_results.c.account, plan_account_results.c.kpis, plan_account_results.c.details)
            .where(plan_account_results.c.version_id == version_id).order_by(plan_account_results.c.account)):
        accounts[account], details[account] = kpis, extra
    decisions = [Decision(actor, decision, comment, at) for actor, decision, comment, at in connection.execute(
        select(plan_decisions.c.actor, plan_decisions.c.decision, plan_decisions.c.comment,
               plan_decisions.c.decided_at)
        .where(plan_decisions.c.version_id == version_id).order_by(plan_decisions.c.id))]
    frozen = Frozen(
        scenario=row["scenario"], name=row["name"], scenario_file=row["scenario_file"], workdir=row["workdir"],
        year=row["year"], currency=row["currency"], options=row["options"], applied=row["applied"],
        plan_source=row["plan_source"], events=row["events"], rule_files=files, totals=row["totals"],
        accounts=accounts, details=details, policy=row["policy"], uncertainty=row["uncertainty"],
        command_line=row["command_line"])
    return Version(version_id, row["number"], frozen, row["content_sha256"], row["submitted_by"],
                   row["submitted_at"], row["status"], row["revision"], decisions, row["title"])


def load(store: Store, scenario: str, number: int | None = None) -> Version:
    """Read one version (the latest when `number` is None) for a report."""
    with store.read() as connection:
        return version_at(connection, scenario, number)


def list_versions(store: Store, scenario: str | None = None) -> list[Version]:
    with store.read() as connection:
        return list_in(connection, scenario)


def list_in(connection: Connection, scenario: str | None = None) -> list[Version]:
    """Every version (of one scenario, or of all), read in the caller's transaction."""
    names = [scenario] if scenario is not None else scenarios(connection)
    if scenario is not None and not numbers(connection, scenario):
        version_at(connection, scenario)  # raises NotFound with the known scenarios
    return [version_at(connection, name, number) for name in names for number in numbers(connection, name)]
