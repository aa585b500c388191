"""`planner review`: the plan against the year's actuals -- variance, promotions, latest estimate, rebate outlook,
policy headroom -- and the quarterly business review pack per account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.cli.common import CannotRun, check_readable, db_option, plan_store, split_ref, write_or_fail
from planner.prepare import prepare

if TYPE_CHECKING:
    from planner.rules.schema import Event, RuleSet

REVIEW_FILES = frozenset({"review.json", "review.txt", "qbr.html", "qbr.xlsx"})


def plan_of(target: str, db: str | None) -> tuple[RuleSet, list[Event], str, str]:
    """(rules, the plan's events, scenario id, label) of a scenario file or a stored version SCENARIO@N.

    A stored version is re-resolved from the scenario file it was submitted from (relative to the folder it was
    submitted in), with its own events; every file it was built from must still hash as it did."""
    path = Path(target)
    if path.is_file():
        prepared = prepare(path, [])
        _refuse(prepared.findings, target)
        rules = prepared.resolved.rules
        events = list(prepared.plan.events if prepared.plan else rules.events)
        return rules, events, prepared.resolved.id, target
    if "@" not in target and (path.suffix in (".yaml", ".yml") or "/" in target):
        check_readable([path])
    from planner.rules.schema import Event as EventRule
    from planner.store.hashing import file_sha256
    from planner.store.versions import load

    scenario, number = split_ref(target)
    with plan_store(db, read_only=True) as store:
        version = load(store, scenario, number)
    frozen, workdir = version.frozen, Path(version.frozen.workdir)
    changed = [name for name, (_kind, sha) in frozen.rule_files.items()
               if not (workdir / name).is_file() or file_sha256(workdir / name) != sha]
    if changed:
        raise CannotRun(f"{version.label} was built from files that changed or are gone since ({', '.join(changed[:3])}"
                        f"{', ...' if len(changed) > 3 else ''}): review it from {workdir} with those files as "
                        "submitted, or review the scenario file")
    prepared = prepare(workdir / frozen.scenario_file, list(getattr(frozen, "command_line", None) or []))
    _refuse(prepared.findings, target)
    events = [EventRule.model_validate(event) for event in frozen.events]
    return prepared.resolved.rules, events, frozen.scenario, version.label


def _refuse(findings: list[Any], target: str) -> None:
    errors = [f for f in findings if f.severity.value == "error"]
    if errors:
        raise CannotRun(f"{target}: the scenario has {len(errors)} error finding(s); run planner validate")


@click.command()
@click.argument("target", metavar="SCENARIO_FILE|SCENARIO@N")
@click.option("--through", type=click.IntRange(min=0), metavar="WEEK",
              help="Last fiscal week to review (default: the last week with actuals).")
@click.option("--draws", type=click.IntRange(min=0), default=200, show_default=True,
              help="Monte Carlo draws of the forecast for the latest estimate's P10/P50/P90 and tier probabilities.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write review.json, review.txt and the quarterly business review pack (qbr.html, qbr.xlsx) here.")
@db_option
def review(target: str, through: int | None, draws: int, seed: int, fmt: str, out: Path | None,
           db: str | None) -> None:
    """Compare a plan with the year's actuals (imported with planner actuals import).

    The plan is a scenario file (simulated now) or a stored version SCENARIO@N. Per account, for the year and
    the quarter to date: volume, gross sales, trade spend by kind, net sales, gross profit, margin, budget used,
    and the variance of gross profit split into baseline, promotions, price/mix and rebates (they add up to the
    total); every executed promotion against the model's counterfactual, a league table of mechanics; the latest
    estimate with P10/P50/P90; each rebate tier and growth target; policy headroom (docs/review.md).

    Exit 0 done; 2 cannot run (no actuals for the plan year, a week outside it, changed files of a version).

    \b
    Examples:
      planner review scenarios/base.yaml --through 13
      planner review base-2027@1 --format json --out results/q1-review
    """
    from planner.actuals.store import load_actuals
    from planner.review.review import review as run_review
    from planner.review.views import render_text

    rules, events, scenario, label = plan_of(target, db)
    if rules.calendar is None:
        raise CannotRun(f"{target}: the rules have no calendar")
    if out is not None:
        from planner.folders import unsafe_target

        problem = unsafe_target(out, REVIEW_FILES)
        if problem:
            raise CannotRun(problem)
    with plan_store(db, read_only=True) as store:
        actuals = load_actuals(store, rules.calendar.year)
    if not actuals.last_week and not through:
        raise CannotRun(f"no actuals for {rules.calendar.year} in the plan store: import them first "
                        "(planner actuals import FILE... --scenario SCENARIO)")
    if through is not None and through > rules.calendar.weeks:
        raise click.BadParameter(f"week {through} is after the plan year's last week {rules.calendar.weeks}",
                                 param_hint="--through")
    if through is not None and through > actuals.last_week:
        raise CannotRun(f"the plan store holds actuals of {rules.calendar.year} through week {actuals.last_week} "
                        f"only, not {through}: import them first (planner actuals import)")
    result = run_review(rules, events, actuals, through, scenario=scenario, plan_label=label, draws=draws, seed=seed)
    text = render_text(result)
    document = result.as_json()
    click.echo(json.dumps(document, indent=2, ensure_ascii=False) if fmt == "json" else text)
    if out is not None:
        from planner.folders import write_folder
        from planner.review.pack import write_pack

        def write(folder: Path) -> list[str]:
            (folder / "review.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
            (folder / "review.txt").write_text(text + "\n", encoding="utf-8")
            return ["review.json", "review.txt", *write_pack(result, folder)]

        target_folder = out
        write_or_fail(out, lambda: write_folder(target_folder, write, REVIEW_FILES), "the review")


COMMANDS = (review,)
