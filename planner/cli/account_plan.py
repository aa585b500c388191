"""`planner account-plan` writes each account's annual plan document (客户年计划书) as HTML and PDF, zh-CN and en;
`planner account-status` moves it draft -> discussed -> signed in the plan store (docs/account-plan.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from planner.cli.common import (
    CannotRun,
    db_option,
    plan_store,
    plan_store_if_any,
    split_ref,
    store_errors,
    write_or_fail,
)

LANGUAGE_CHOICE = click.Choice(["zh-CN", "en", "both"])
AS_HELP = "Who is acting (default: $PLANNER_USER); on a shared (PostgreSQL) store, the database login."
KEY_HELP = "Your Ed25519 private key (PEM; default: $PLANNER_KEY), once an admin registered your public key."


def _accounts(rules: Any, chosen: tuple[str, ...]) -> list[str]:
    from planner.rules.scenario import did_you_mean

    known = [account.id for account in rules.accounts]
    for account in chosen:
        if account not in known:
            raise click.BadParameter(f"'{account}' is not an account of the rules{did_you_mean(account, known)}",
                                     param_hint="--account")
    return list(dict.fromkeys(chosen)) or known


@click.command("account-plan")
@click.argument("target", metavar="SCENARIO_FILE|SCENARIO@N")
@click.option("--account", "accounts", multiple=True, metavar="ID",
              help="The account (repeatable; default: every account of the rules).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for account-plan-ID.LANG.html and .pdf; a new folder, or one holding only such "
                   "documents, replaced only once every file is written.")
@click.option("--lang", type=LANGUAGE_CHOICE, default="both", show_default=True, help="Language of the documents.")
@click.option("--history", "history_file", type=click.Path(path_type=Path),
              help="Sales history (docs/history.md) for last year's business review, e.g. history/demo-sales.csv.")
@db_option
def account_plan(target: str, accounts: tuple[str, ...], out: Path, lang: str, history_file: Path | None,
                 db: str | None) -> None:
    """Write the annual plan document an account manager brings to the buyer: last year's review, market and
    channel, SMART targets, customer promotions (discounts; rebate tiers with what each pays), the consumer
    activity calendar, vividness and equipment, the execution and quarterly-review schedule, the flexible reserve,
    and its draft/discussed/signed status from the plan store (docs/account-plan.md).

    The plan is a scenario file (its events, or its options.plan) or a stored version SCENARIO@N.

    \b
    Examples:
      planner account-plan scenarios/base.yaml --account carrefour --history history/demo-sales.csv --out out/plans
      planner account-plan base-2027@1 --lang zh-CN --out out/plans
    """
    from planner.cli.review import plan_of
    from planner.folders import unsafe_target, write_folder
    from planner.report.account_plan.content import account_documents
    from planner.report.account_plan.render import page_name, write_documents
    from planner.report.account_plan.status import statuses
    from planner.report.account_plan.words import LANGUAGES
    from planner.rules.scenario import ScenarioOptions
    from planner.simulate import simulate

    rules, events, scenario, label = plan_of(target, db)
    chosen = _accounts(rules, accounts)
    languages = LANGUAGES if lang == "both" else (lang,)
    allowed = frozenset(page_name(account.id, language).replace(".html", ext) for account in rules.accounts
                        for language in LANGUAGES for ext in (".html", ".pdf"))
    problem = unsafe_target(out, allowed)
    if problem:
        raise CannotRun(problem)
    history = None
    if history_file is not None:
        from planner.history.frame import HistoryError
        from planner.history.load import load_history

        try:
            history = load_history(history_file).frame
        except HistoryError as error:
            raise CannotRun(f"cannot read the history {history_file}: {error}") from error
    with plan_store_if_any(db) as store:
        if store is None:
            found = {}
        else:
            with store.read() as connection:
                found = statuses(connection, scenario)
    simulation = simulate(rules, ScenarioOptions(draws=0), scenario=scenario, events=events)
    documents = account_documents(rules, events, simulation, scenario=label, accounts=chosen, history=history,
                                  history_file=str(history_file or ""), statuses=found)
    folder = out
    write_or_fail(out, lambda: write_folder(folder, lambda staging: write_documents(documents, staging, languages),
                                            allowed), "the annual plans")


@click.command("account-status")
@click.argument("target", metavar="SCENARIO[@N]")
@click.argument("account", required=False)
@click.argument("status", required=False, type=click.Choice(["draft", "discussed", "signed"]))
@click.option("--note", default="", help="What was agreed or why it was reopened (kept with the status).")
@click.option("--as", "actor", metavar="USER", help=AS_HELP)
@click.option("--key", "key_file", metavar="FILE", help=KEY_HELP)
@db_option
def account_status(target: str, account: str | None, status: str | None, note: str, actor: str | None,
                   key_file: str | None, db: str | None) -> None:
    """Show, or move, the status of each account's annual plan: draft -> discussed -> signed (or back to draft).

    Discussed needs the planner role, signed the approver role; each change is an audit row
    (planner audit log). With only SCENARIO, lists the statuses.

    \b
    Examples:
      planner account-status base-2027 carrefour discussed --as alice --note "buyer meeting 2027-01-12"
      planner account-status base-2027@1 carrefour signed --as bob
      planner account-status base-2027
    """
    from planner.report.account_plan.status import set_status, statuses
    from planner.store import identity, keys, roles

    scenario, version = split_ref(target)
    if account is None or status is None:
        if account is not None:
            raise click.UsageError("name the new status after the account, e.g. carrefour discussed")
        with plan_store(db, read_only=True) as store, store.read() as connection:
            found = statuses(connection, scenario)
        for row in sorted(found.values(), key=lambda item: item.account):
            at = f" v{row.version}" if row.version else ""
            click.echo(f"{row.account:<24} {row.status:<10} by {row.changed_by} at {row.changed_at}{at}"
                       + (f"  {row.note}" if row.note else ""))
        if not found:
            click.echo(f"every account's annual plan in {scenario} is a draft")
        return
    with store_errors():
        user, key = identity.typed_user(actor), identity.load_key(key_file)
    with plan_store(db) as store, store_errors(), store.write() as connection:
        acting = identity.acting(connection, user)
        roles.first_use(connection, acting)
        changed = set_status(connection, acting, scenario, account, status, version=version, note=note,
                             key=keys.signer(connection, acting, key))
    click.echo(f"{account}'s annual plan in {scenario} is now {changed.status} (by {changed.changed_by})")


COMMANDS = (account_plan, account_status)
