"""`planner validate` and `planner schema`: checking rule files and describing their format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from planner.cli.common import check_readable

SCHEMA_IDS = {
    "rules": ("urn:promo-planner:schema:rule-file", "Promo Planner rule file"),
    "scenario": ("urn:promo-planner:schema:scenario-file", "Promo Planner scenario file"),
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif", "junit"]),
              default="text", show_default=True, help="How to write the findings.")
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, fail_on_warn: bool) -> None:
    """Check rule files, rules folders and scenario files; every problem with file:line:column and a fix.

    \b
    Example:
      planner validate rules/ scenarios/ --format github
    """
    from planner.report.findings import render
    from planner.validate import validate as run_validate

    check_readable(paths)
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


@click.command()
@click.option("--scenario", is_flag=True, help="Print the schema of scenario files instead of rule files.")
@click.option("--markdown", is_flag=True, help="Print the field-by-field reference that docs/rules.md embeds.")
def schema(scenario: bool, markdown: bool) -> None:
    """Print the JSON Schema of rule files (point yaml-language-server at it for completion and checks).

    \b
    Example:
      planner schema > .promo-planner.schema.json
    """
    if markdown:
        from planner.rules.reference import reference_markdown

        click.echo(reference_markdown())
        return
    click.echo(json.dumps(json_schema(scenario), indent=2, ensure_ascii=False))


COMMANDS = (validate, schema)
