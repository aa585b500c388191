"""The account annual plan document (planner account-plan) and its status (planner account-status): Carrefour's
document holds every section with figures that tie back to the rules, the simulation and the history; HTML and
PDF in zh-CN and en; the status moves draft -> discussed -> signed in the plan store (SQLite and PostgreSQL), is
audited and shown on the document; Chromium renders the page with networking off."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from planner.cli import main
from planner.history.load import load_history
from planner.report.account_plan.content import account_documents
from planner.report.account_plan.render import render_html
from planner.report.account_plan.words import LANGUAGES, SECTIONS, WORDS
from planner.rules.scenario import resolve
from planner.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADING = (200, 16, 46)
"""The section headings' band colour (#c8102e)."""


@pytest.fixture(scope="module")
def carrefour() -> dict[str, object]:
    resolved = resolve(ROOT / "scenarios" / "base.yaml", ["options.draws=0"])
    rules = resolved.rules
    simulation = simulate(rules, resolved.options, scenario=resolved.id)
    history = load_history(ROOT / "history" / "demo-sales.csv").frame
    return {"rules": rules, "simulation": simulation, "history": history,
            "document": account_documents(rules, rules.events, simulation, scenario="base-2027",
                                          accounts=["carrefour"], history=history,
                                          history_file="history/demo-sales.csv")[0]}


def test_both_languages_word_every_section() -> None:
    assert set(WORDS["en"]) == set(WORDS["zh-CN"]) and set(LANGUAGES) == set(WORDS)
    assert all(section in WORDS["en"] for section in SECTIONS)


def test_carrefour_figures_tie_back_to_their_sources(carrefour: dict[str, object]) -> None:
    document, simulation, history = carrefour["document"], carrefour["simulation"], carrefour["history"]
    assert isinstance(document, dict)
    review = document["review"]
    assert isinstance(history, pd.DataFrame)
    rows = history.loc[(history["account"] == "carrefour") & (history["week"].dt.year == 2026)]
    assert review["cases"] == pytest.approx(rows["cases"].sum())
    assert sum(q["cases"] for q in review["quarters"]) == pytest.approx(review["cases"])
    targets = document["targets"]
    assert targets["volume"] == pytest.approx(simulation.accounts["carrefour"].volume)  # type: ignore[attr-defined]
    assert sum(q["volume"] for q in targets["quarters"]) == pytest.approx(targets["volume"])
    account = carrefour["rules"].ids("accounts")["carrefour"]  # type: ignore[attr-defined]
    assert targets["target_volume"] == pytest.approx(account.last_year_volume * (1 + account.growth_target))
    growth = next(r for r in document["rebates"] if r["basis"] == "growth")
    assert len(growth["pays"]) == len(growth["tiers"]) == 2 and 0 < growth["pays"][0] < growth["pays"][1]
    assert growth["planned"] > 0 and growth["reached"] == 1  # the plan grows Carrefour past +25%
    reserve = document["reserve"]
    assert reserve["kind"] == "account" and reserve["reserve"] == pytest.approx(reserve["ceiling"] - reserve["used"])
    assert reserve["used"] == pytest.approx(simulation.accounts["carrefour"].budget_used)  # type: ignore[attr-defined]
    locked = [a for a in document["activities"] if a["locked"]]
    assert {a["id"] for a in locked} == {"cf-cny-cola-cans", "cf-summer-bogo"}
    assert sum(len(q["activities"]) for q in document["schedule"]) == len(document["activities"])
    assert document["discounts"] and document["shelf"] and document["displays"]


def test_the_page_says_it_in_the_chosen_language(carrefour: dict[str, object]) -> None:
    document = carrefour["document"]
    assert isinstance(document, dict)
    chinese, english = render_html(document, "zh-CN"), render_html(document, "en")
    assert "2027年度客户计划书 · 家乐福华东" in chinese and "四、客户促销" in chinese and "草案" in chinese
    assert "Annual plan 2027 · Carrefour China - East" in english and "4. Customer promotions" in english
    for page in (chinese, english):
        assert all(f'<section id="{section}">' in page for section in SECTIONS)
        assert "<script" not in page and "http" not in page


def run(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments))


def test_status_moves_is_audited_and_shown_on_the_document(world: World, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "history", world.path / "history")
    alice, bob = world.url_as("alice"), world.url_as("bob")
    moved = run("account-status", "base-2027", "carrefour", "discussed", "--as", "alice", "--db", alice,
                "--note", "buyer meeting 2027-01-12")
    assert moved.exit_code == 0, moved.output
    refused = run("account-status", "base-2027", "carrefour", "signed", "--as", "alice", "--db", alice)
    assert refused.exit_code == 1 and "needs the approver role" in refused.output
    skipped = run("account-status", "base-2027", "walmart", "signed", "--as", "bob", "--db", bob)
    assert skipped.exit_code == 1 and "is draft; it can move to discussed" in skipped.output
    out = tmp_path / "plans"
    written = run("account-plan", "scenarios/base.yaml", "--account", "carrefour", "--history",
                  "history/demo-sales.csv", "--out", str(out), "--db", alice)
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in out.iterdir()) == ["account-plan-carrefour.en.html", "account-plan-carrefour.en.pdf",
                                                     "account-plan-carrefour.zh-CN.html",
                                                     "account-plan-carrefour.zh-CN.pdf"]
    page = (out / "account-plan-carrefour.zh-CN.html").read_text(encoding="utf-8")
    assert 'class="badge discussed">已讨论' in page and "buyer meeting 2027-01-12" in page
    assert (out / "account-plan-carrefour.en.pdf").read_bytes().startswith(b"%PDF-")
    signed = run("account-status", "base-2027", "carrefour", "signed", "--as", "bob", "--db", bob)
    assert signed.exit_code == 0, signed.output
    listed = run("account-status", "base-2027", "--db", alice)
    assert re.search(r"carrefour\s+signed\s+by bob", listed.output)
    log = run("audit", "log", "--db", alice)
    assert log.output.count("account_plan_status") == 2
    assert run("audit", "verify", "--db", alice).exit_code == 0


def test_an_unknown_account_is_a_usage_error_and_writes_nothing(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = run("account-plan", "scenarios/base.yaml", "--account", "carefour", "--out", str(tmp_path / "x"),
                 "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 2 and "did you mean 'carrefour'?" in result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt install chromium; .ci/run installs it)")
def test_carrefours_document_renders_its_sections_in_a_headless_browser(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chromium opens the page with networking off: the DOM it built holds every section, and the screenshot
    shows each section's heading band (a run of rows in the heading colour) -- the eight sections and the
    signatures, in order down the page."""
    from PIL import Image

    monkeypatch.chdir(ROOT)
    out = tmp_path / "plans"
    result = run("account-plan", "scenarios/base.yaml", "--account", "carrefour", "--lang", "zh-CN", "--history",
                 "history/demo-sales.csv", "--out", str(out), "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 0, result.output
    page = (out / "account-plan-carrefour.zh-CN.html").as_uri()
    assert CHROMIUM is not None
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,4200"]
    dom = subprocess.run([*browser, "--dump-dom", page], check=True, capture_output=True, timeout=120,
                         text=True).stdout
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom and WORDS["zh-CN"][section] in dom
    shot = tmp_path / "page.png"
    subprocess.run([*browser, f"--screenshot={shot}", page], check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 4200)
    pixels = image.load()
    assert pixels is not None
    rows = [sum(1 for x in range(0, 1200, 4) if pixels[x, y] == HEADING) for y in range(image.size[1])]
    runs, height = [], 0
    for count in [*rows, 0]:  # a heading band: 15 or more rows mostly in the heading colour (not the 4px rule)
        if count > 150:
            height += 1
        elif height:
            runs.append(height)
            height = 0
    assert len([run for run in runs if run >= 15]) == len(SECTIONS) + 1


def test_status_names_an_account_and_a_version_of_the_stored_plan(world: World) -> None:
    alice = world.url_as("alice")
    submitted = run("plan", "submit", "scenarios/base.yaml", "--as", "alice", "--db", alice)
    assert submitted.exit_code == 0, submitted.output
    typo = run("account-status", "base-2027", "carefour", "discussed", "--as", "alice", "--db", alice)
    assert typo.exit_code == 1 and "did you mean 'carrefour'?" in typo.output
    missing = run("account-status", "base-2027@7", "carrefour", "discussed", "--as", "alice", "--db", alice)
    assert missing.exit_code == 1 and "has no version 7" in missing.output
    moved = run("account-status", "base-2027@1", "carrefour", "discussed", "--as", "alice", "--db", alice)
    assert moved.exit_code == 0, moved.output
    assert "v1" in run("account-status", "base-2027", "--db", alice).output
