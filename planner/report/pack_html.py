"""The approval pack as one self-contained HTML page: styles inline, charts embedded as PNG data URIs, no script
and no link to anything outside the file, so it opens offline and can be mailed or archived as it is.

The layout is a Jinja2 template (`templates/pack.html.j2`, autoescaped: account names and comments are text,
never markup); the numbers are formatted by the same functions as the text reports.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from planner.report.pack import Pack
from planner.report.plans import LABELS
from planner.report.simulation import delta, kind_of, number
from planner.store.diff import describe_policy, describe_terms

PAGE = "approval-pack.html"


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "count":
        return f"{value:,.0f}"
    return number(float(value), kind)


def _change(value: Any, kind: str) -> str:
    return "–" if value is None else delta(float(value), kind)


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def render(pack: Pack) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(loader=PackageLoader("planner.report", "templates"),
                              autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(fmt=_fmt, change=_change, label=_label, kind=kind_of)
    images = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
              for name, png in pack.charts.items()}
    event_account = {event["id"]: event["account"] for event in pack.version.frozen.events}
    if pack.baseline is not None:
        event_account |= {e["id"]: e["account"] for e in pack.baseline.frozen.events if e["id"] not in event_account}
    return environment.get_template("pack.html.j2").render(
        pack=pack, v=pack.version, d=pack.difference, images=images,
        accounts={row["id"]: row for row in pack.accounts},
        event_account=event_account, describe=describe_terms,
        describe_policy=describe_policy)
