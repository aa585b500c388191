"""Write annual plan documents as HTML (self-contained: styles inline, no script, nothing fetched) and PDF.

The PDF is WeasyPrint's rendering of the very same HTML, so the two never disagree. The page is a Jinja2
template (planner/report/templates/account_plan.html.j2, autoescaped: names and notes are text, never markup).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner.report.account_plan.words import BASIS, SECTIONS, WORDS


def _money(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):,.0f}"


def _percent(value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{float(value):+.1%}" if signed else f"{float(value):.1%}"


def page_name(account: str, lang: str) -> str:
    """carrefour, zh-CN -> account-plan-carrefour.zh-CN.html (the .pdf beside it)."""
    return f"account-plan-{account}.{lang}.html"


def render_html(document: dict[str, Any], lang: str) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(loader=PackageLoader("planner.report", "templates"),
                              autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(money=_money, percent=_percent)
    words = WORDS[lang]

    def name(pair: tuple[str, str]) -> str:
        english, chinese = pair
        return (chinese or english) if lang == "zh-CN" else (english or chinese)

    return environment.get_template("account_plan.html.j2").render(
        d=document, w=words, lang=lang, name=name, sections=SECTIONS, basis=BASIS[lang])


def write_documents(documents: list[dict[str, Any]], folder: Path, languages: tuple[str, ...]) -> list[str]:
    """Each document in each language, HTML and PDF, into `folder`; returns the file names written."""
    from weasyprint import HTML

    written = []
    for document in documents:
        for lang in languages:
            html = render_html(document, lang)
            page = page_name(document["id"], lang)
            (folder / page).write_text(html, encoding="utf-8")
            HTML(string=html, base_url=str(folder)).write_pdf(folder / page.replace(".html", ".pdf"))
            written += [page, page.replace(".html", ".pdf")]
    return written
