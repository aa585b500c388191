"""The `planner` command line: a thin shell over functions that are all reachable from Python.

Exit codes are a contract CI relies on: 0 clean, 1 findings at error level (or warnings with --fail-on-warn),
2 the command could not run (usage errors, missing or unreadable paths, or an unexpected exception). Heavy
libraries (pyomo, highspy, openpyxl) are imported only inside the commands that solve or write workbooks, so
`planner validate` stays fast enough for a pre-commit hook; every import here is therefore done lazily.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

CANNOT_RUN = 2
SCHEMA_IDS = {
    "rules": ("urn:promo-planner:schema:rule-file", "Promo Planner rule file"),
    "scenario": ("urn:promo-planner:schema:scenario-file", "Promo Planner scenario file"),
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class CannotRun(click.ClickException):
    """A problem that stops the command before it can judge anything: exit 2, one line on stderr."""

    exit_code = CANNOT_RUN


def _debugging() -> bool:
    return os.environ.get("PLANNER_DEBUG") == "1"


class PlannerGroup(click.Group):
    """Turns an unexpected exception into one readable line and exit 2, so CI logs never show a traceback.

    Set PLANNER_DEBUG=1 to get the traceback when reporting a bug.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if _debugging():
                raise
            summary = " ".join(str(error).split()) or "no details"
            raise CannotRun(
                f"internal error: {type(error).__name__}: {summary} (set PLANNER_DEBUG=1 for the traceback)"
            ) from error


@click.group(cls=PlannerGroup, name="planner")
def main() -> None:
    """Promo Planner: check promotion rules, simulate scenarios and optimise annual plans."""


def _check_readable(paths: Sequence[Path]) -> None:
    """Named paths must exist and be readable: a typo in CI must fail as 'cannot run', not as a finding."""
    for path in paths:
        if not path.exists():
            raise CannotRun(f"path does not exist: {path}")
        if not os.access(path, os.R_OK):
            raise CannotRun(f"path cannot be read: {path}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif", "junit"]),
              default="text", show_default=True, help="How to write the findings.")
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, fail_on_warn: bool) -> None:
    """Check rule files, rules folders and scenario files; every problem with file:line:column and a fix."""
    from planner.report.findings import render
    from planner.validate import validate as run_validate

    _check_readable(paths)
    report = run_validate(list(paths))
    click.echo(render(report, fmt, fail_on_warn))
    ctx.exit(report.exit_code(fail_on_warn))


def json_schema(scenario: bool = False) -> dict[str, Any]:
    """The JSON Schema of a rule file (or of a scenario file), for yaml-language-server and CI linters."""
    if scenario:
        from pydantic import BaseModel, ConfigDict

        from planner.rules.scenario import ScenarioSpec

        class ScenarioFile(BaseModel):
            """One scenario file: a single `scenario:` mapping."""

            model_config = ConfigDict(extra="forbid")
            scenario: ScenarioSpec

        schema = ScenarioFile.model_json_schema(by_alias=True)
    else:
        from planner.rules.schema import RuleFile

        schema = RuleFile.model_json_schema(by_alias=True)
    schema_id, title = SCHEMA_IDS["scenario" if scenario else "rules"]
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id, **schema, "title": title}


@main.command()
@click.option("--scenario", is_flag=True, help="Print the schema of scenario files instead of rule files.")
@click.option("--markdown", is_flag=True, help="Print the field-by-field reference that docs/rules.md embeds.")
def schema(scenario: bool, markdown: bool) -> None:
    """Print the JSON Schema of rule files (point yaml-language-server at it for completion and checks)."""
    if markdown:
        from planner.rules.reference import reference_markdown

        click.echo(reference_markdown())
        return
    click.echo(json.dumps(json_schema(scenario), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main(prog_name="planner")
