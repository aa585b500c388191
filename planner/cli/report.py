"""`planner report`: the approval pack of a plan version (from the plan store) or of a scenario file (a draft).

matplotlib, Jinja2 and openpyxl are imported only when the pack is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.cli.common import (
    SET_HELP,
    CannotRun,
    allow_findings_option,
    command_line,
    db_option,
    plan_store,
    plan_store_if_any,
    simulate_and_freeze,
    split_ref,
)

if TYPE_CHECKING:
    from planner.store.versions import Version

PACK_FILES = frozenset({"approval-pack.html", "approval-pack.xlsx"})
"""What a pack folder holds; only such a folder may be replaced by a new pack."""


@click.command("report")
@click.argument("target", metavar="SCENARIO[@N]|FILE")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder for approval-pack.html and approval-pack.xlsx (new, or holding only an earlier pack; "
                   "replaced only once both files are written).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help=SET_HELP + " Only with a scenario file.")
@click.option("--draws", type=click.IntRange(min=0),
              help="Monte Carlo draws for the risk section. Only with a scenario file (a stored version keeps its own).")
@allow_findings_option
@click.option("--allow-unverified", is_flag=True,
              help="Write the pack of a stored version that fails verification anyway, stamped UNVERIFIED at the "
                   "top of the page and of every sheet (exit 1 all the same).")
@db_option
@click.pass_context
def report(ctx: click.Context, target: str, out: Path, sets: tuple[str, ...], draws: int | None,
           allow_findings: bool, allow_unverified: bool, db: str | None) -> None:
    """Write the approval pack of a stored version (SCENARIO or SCENARIO@N, default the latest) or of a scenario
    file (simulated now, as a draft). The pack is one self-contained HTML page and an Excel workbook: policy checks
    green/red, spend and ROI by account, gross-to-dead-net waterfall, P10/P50/P90 risk, each account's annual plan
    and the changes since the last approved version. A stored version's pack never creates a plan store. A
    scenario file with error findings is refused (the findings on stderr, exit 1, nothing written) unless
    --allow-findings. A stored version is verified first (content hash, audit rows, frozen files, signatures): one
    that fails exits 1 naming what failed, and nothing is written unless --allow-unverified.

    \b
    Examples:
      planner report base-2027@2 --out packs/base-2027-v2
      planner report scenarios/budget-cut-10.yaml --out packs/draft --draws 200
      planner report scenarios/base.yaml --set budgets.bud-total-2027.max=500k --allow-findings --out packs/what-if
    """
    from planner.folders import unsafe_target, write_folder
    from planner.report import pack_html, pack_workbook
    from planner.report.pack import build
    from planner.store import diff
    from planner.store.audit import utc_now
    from planner.store.roles import two_approvers_above
    from planner.store.verify import failures, refusal
    from planner.store.versions import APPROVED, draft, list_in, list_versions, version_at

    problem = unsafe_target(out, PACK_FILES)
    if problem:
        raise CannotRun(problem)
    is_file = Path(target).suffix in (".yaml", ".yml") or Path(target).is_file()
    if not is_file and (sets or draws is not None or allow_findings):
        raise click.UsageError("--set, --draws and --allow-findings apply to a scenario file, not to a stored "
                               "version")
    threshold = None
    unverified: list[str] = []
    if is_file:
        version = draft(simulate_and_freeze(ctx, Path(target), command_line(sets, draws, None, None),
                                            allow_findings))
        baseline: Version | None = None
        with plan_store_if_any(db) as store:
            earlier = [v for v in list_versions(store) if v.scenario == version.scenario] if store else []
            if store is not None:
                with store.read() as connection:
                    threshold = two_approvers_above(connection)
        candidates = [v for v in earlier if v.status == APPROVED] or earlier
        baseline = candidates[-1] if candidates else None
    else:
        scenario, number = split_ref(target)
        with plan_store(db, read_only=True) as store, store.read() as connection:  # one snapshot
            version = version_at(connection, scenario, number)
            baseline = diff.baseline(list_in(connection, scenario), version)
            threshold = two_approvers_above(connection)
            failing = failures(connection, [version] + ([baseline] if baseline is not None else []))
        for shown in [version] + ([baseline] if baseline is not None else []):
            problems = failing.get((shown.scenario, shown.number), [])
            if problems:
                role = "" if shown is version else f"it is what {version.label} is compared with; "
                click.echo(("UNVERIFIED: " if allow_unverified else "Error: ") + refusal(
                    shown.label, problems, role + ("the pack is stamped UNVERIFIED on every page and sheet"
                                                   if allow_unverified else
                                                   "refusing to write the pack (--allow-unverified writes it stamped)")),
                    err=True)
                unverified += [f"{shown.label}: {problem}" for problem in problems]
        if unverified and not allow_unverified:
            ctx.exit(1)
    pack = build(version, baseline, utc_now(), threshold)
    pack.unverified = unverified

    def write(folder: Path) -> list[str]:
        (folder / pack_html.PAGE).write_text(pack_html.render(pack), encoding="utf-8")
        pack_workbook.write(pack, folder / pack_workbook.WORKBOOK)
        return [pack_html.PAGE, pack_workbook.WORKBOOK]

    try:
        written = write_folder(out, write, PACK_FILES)
    except OSError as error:
        raise CannotRun(f"cannot write the approval pack to {out}: {error.strerror or error}") from error
    failed = len(pack.failed)
    status = "" if version.status == "draft" else f" ({version.status})"
    click.echo(f"approval pack of {version.label}{status}: "
               + (f"{failed} policy check(s) FAIL" if failed else f"all {len(pack.policy)} policy checks hold")
               + (f", compared with {baseline.label}" if baseline else ", no earlier version to compare with"))
    click.echo(f"wrote {', '.join(str(out / name) for name in written)}")
    if unverified:
        ctx.exit(1)


COMMANDS = (report,)
