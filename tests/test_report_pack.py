"""`planner report`: the approval pack (HTML page + Excel workbook) of a stored version or a scenario file."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from planner.cli import main
from planner.report.pack import WATERFALL, build
from planner.store.versions import Frozen, draft

if typing.TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "approval.md"


def run(world: World, *args: str) -> Result:
    """A command, logged in to the store as the user it acts as (on PostgreSQL the acting user is the login)."""
    user = args[args.index("--as") + 1] if "--as" in args else None
    return CliRunner().invoke(main, [*args, "--db", world.url_as(user) if user else world.url])


def page(folder: Path) -> str:
    return (folder / "approval-pack.html").read_text(encoding="utf-8")


def workbook(folder: Path) -> Workbook:
    from openpyxl import load_workbook

    return load_workbook(folder / "approval-pack.xlsx")


def test_the_waterfall_adds_up_to_the_frozen_totals(base_frozen: Frozen) -> None:
    pack = build(draft(base_frozen), None, "now")
    totals = base_frozen.totals
    steps = {row["step"]: row["amount"] for row in pack.waterfall}
    deductions = [row["amount"] for row in pack.waterfall[1:len(WATERFALL) + 1]]
    assert sum(deductions) == pytest.approx(totals["trade_spend"], rel=1e-12)
    assert steps["Gross sales"] - sum(deductions) == pytest.approx(steps["Dead-net sales"], rel=1e-12)
    assert steps["Dead-net sales"] - steps["Cost of goods"] == pytest.approx(steps["Gross profit"], rel=1e-12)
    assert sum(row["budget_used"] for row in pack.accounts) == pytest.approx(totals["budget_used"], rel=1e-9)
    assert {row["id"] for row in pack.plans} == set(base_frozen.accounts)
    assert all(row["plan"]["strategy"]["events"] == len(row["plan"]["events"]) for row in pack.plans)
    assert sorted(pack.charts) == ["accounts", "budgets", "waterfall"]  # no draws: no risk chart
    assert all(png.startswith(PNG) for png in pack.charts.values())


def test_a_draft_pack_is_self_contained_and_complete(world: World, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = run(world, "report", "scenarios/base.yaml", "--out", str(out), "--draws", "20")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("approval pack of base-2027 (draft, not submitted): all 51 policy checks hold, "
                                    "no earlier version to compare with")
    html = page(out)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html), "the page must not load anything"
    assert "<script" not in html and "<link" not in html and "@import" not in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 4 and all(base64.b64decode(image).startswith(PNG) for image in images)
    for heading in ("What you are approving", "Policy checks", "Spend and ROI by account", "Gross to dead net", "Risk: P10 / P50 / P90",
                    "Account annual plans", "Changes since"):
        assert f"<h2>{heading}" in html
    assert "20 Monte Carlo draws (seed 2027)" in html
    assert "Carrefour China - East" in html and "Spring Festival" in html and "locked by contract" in html
    assert "No earlier version of base-2027 to compare with" in html
    assert "The first version of base-2027: there is no earlier version to compare with" in html
    book = workbook(out)
    assert book.sheetnames == ["What you are approving", "summary", "policy checks", "spend and ROI", "gross to dead net", "risk P10-P90",
                               "account plans", "changes"]
    assert len(book["summary"]._images) == 4


def test_a_failing_check_is_red_in_both_files(world: World, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = run(world, "report", "scenarios/base.yaml", "--out", str(out), "--draws", "0",
                 "--set", "budgets.bud-total-2027.max=3400000")
    assert result.exit_code == 0, result.output
    assert "1 policy check(s) FAIL" in result.stdout
    html = page(out)
    assert re.search(r'<tr class="failrow"><td><span class="badge fail">FAILS</span></td>\s*<td>bud-total-2027', html)
    assert "carries no risk range" in html
    sheet = workbook(out)["policy checks"]
    first = [cell.value for cell in sheet[2]]
    assert first[:2] == ["FAILS", "bud-total-2027"] and first[4] > first[5] == 3_400_000
    assert sheet["A2"].fill.fgColor.rgb.endswith("FFCDD2") and sheet["A3"].fill.fgColor.rgb.endswith("C8E6C9")


def test_a_stored_version_is_compared_with_the_last_approved_one(world: World, tmp_path: Path) -> None:
    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0",
               ).exit_code == 0
    assert run(world, "plan", "approve", "base-2027", "--version", "1", "--as", "bob").exit_code == 0
    changed = run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0",
                  "--set", "displays.disp-carrefour-summer-cola.fee_per_week=5000",
                  "--set", "accounts.carrefour.growth_target=30%", "--set", "budgets.bud-total-2027.max=3400000")
    assert changed.exit_code == 0, changed.output
    out = tmp_path / "pack"
    result = run(world, "report", "base-2027", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "base-2027 version 2 (submitted): 1 policy check(s) FAIL, compared with base-2027 version 1" in result.stdout
    html = page(out)
    assert "Changes since base-2027 version 1" in html and "submitted by <b>alice</b>" in html
    assert ("Display disp-carrefour-summer-cola, fee per week: 4,000 -&gt; 5,000 (+1,000); "
            "Account terms carrefour (Carrefour China - East (家乐福华东)), growth target: 25.0% -&gt; 30.0% (+5.0 pt)"
            in html)
    assert "bud-total-2027 (budget_max, total year): limit 5,000,000 -&gt; 3,400,000, now FAILS" in html
    changes = [[cell.value for cell in row] for row in workbook(out)["changes"].iter_rows(min_row=2)]
    assert ["totals", "total", "budget_used", pytest.approx(world.frozen.totals["budget_used"]),
            pytest.approx(world.frozen.totals["budget_used"] + 8000), pytest.approx(8000)] in changes
    assert any(row[:2] == ["terms", "carrefour"] and "fee per week: 4,000 -> 5,000" in row[2] for row in changes)
    approving = [[cell.value for cell in row] for row in workbook(out)["What you are approving"].iter_rows(min_row=2)]
    assert [row[:3] for row in approving] == [["displays", "disp-carrefour-summer-cola", "carrefour"],
                                              ["accounts", "carrefour", "carrefour"],
                                              ["budgets", "bud-total-2027", "all 14 accounts"]]
    assert approving[0][6:9] == ["vividness cost", pytest.approx(8000), pytest.approx(-8000)]
    earlier = run(world, "report", "base-2027@1", "--out", str(tmp_path / "first"))
    assert earlier.exit_code == 0 and "version 1 (approved)" in earlier.stdout
    assert "approved by <b>bob</b>" in page(tmp_path / "first")


def test_a_rebate_change_heads_the_pack_and_the_diff(world: World, tmp_path: Path) -> None:
    """Issue 16's example: version 2 raises Carrefour's growth rebate tier 2 from 2% to 3% on the command line;
    the pack, its workbook and `plan diff` open with it and its money effect on Carrefour."""
    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0",
               ).exit_code == 0
    assert run(world, "plan", "approve", "base-2027@1", "--as", "bob").exit_code == 0
    raised = run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0",
                 "--set", "rebates.rb-carrefour-growth.tiers.1.rate=3%")
    assert raised.exit_code == 0, raised.output
    out = tmp_path / "pack"
    assert run(world, "report", "base-2027", "--out", str(out)).exit_code == 0
    html = page(out)
    sentence = ("Rebate rb-carrefour-growth (Carrefour annual growth rebate (增长回馈)), tier 2 rate: 2.0% -&gt; 3.0% "
                "(+1.0 pt)")
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings[0] == "What you are approving"
    first = html.index("<h2>What you are approving</h2>")
    assert first < html.index(sentence) < html.index('class="tiles"') < html.index("<h2>Policy checks</h2>")
    assert html.index(sentence) < html.index("Override added")
    effect = re.search(r"rebates (\+[0-9,]+) CNY, gross profit (-[0-9,]+) CNY on carrefour", html)
    assert effect is not None and effect.group(1) != "+0" and effect.group(1)[1:] == effect.group(2)[1:]
    assert "from +25.0%: 3.0% of invoice revenue" in html  # Carrefour's plan lists its rebate tiers
    assert re.search(r"discount JD net-price agreement <span[^>]*>d-jd-net-price</span>: 8.0% off invoice", html)
    sheet = workbook(out)["What you are approving"]
    assert workbook(out).sheetnames[0] == "What you are approving"
    [row] = [[cell.value for cell in r] for r in sheet.iter_rows(min_row=2)]
    assert row[:6] == ["rebates", "rb-carrefour-growth", "carrefour", sentence.replace("-&gt;", "->"), "2.0%", "3.0%"]
    assert row[6] == "rebates" and row[7] > 0 and row[8] == pytest.approx(-row[7])
    text = run(world, "plan", "diff", "base-2027@2")
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[:3] == [
        "What you are approving: base-2027 version 2 against version 1 (approved): 1 term change",
        "  " + sentence.replace("-&gt;", "->"),
        f"      rebates {effect.group(1)} CNY, gross profit {effect.group(2)} CNY on carrefour"]
    assert "Account terms changed: 1" in text.output
    documented = DOCS.read_text(encoding="utf-8").split("### What you are approving")[1]
    assert documented.split("```text\n")[1].split("```")[0].splitlines() == text.output.splitlines()[:3]
    data = json.loads(run(world, "plan", "diff", "base-2027@1", "base-2027@2", "--format", "json").output)
    assert next(iter(data)) == "what_changed"
    [change] = data["what_changed"]["changes"]
    assert (change["kind"], change["rule"], change["field"], change["before"], change["after"]) == (
        "rebates", "rb-carrefour-growth", "tiers.1.rate", 0.02, 0.03)
    assert change["effect"]["accounts"] == ["carrefour"] and change["effect"]["delta"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (("report", "no-such-scenario"), "no versions of scenario 'no-such-scenario'"),
    (("report", "base-2027@x"), "write SCENARIO or SCENARIO@N"),
    (("report", "missing.yaml"), "missing.yaml"),
    (("report", "base-2027", "--draws", "5"), "apply to a scenario file"),
])
def test_bad_targets_exit_with_a_message_and_write_nothing(world: World, tmp_path: Path, args: tuple[str, ...],
                                                           message: str) -> None:
    out = tmp_path / "pack"
    result = run(world, *args, "--out", str(out))
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".pack.*"))


def test_a_folder_with_other_files_is_never_replaced(world: World, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    result = run(world, "report", "scenarios/base.yaml", "--out", str(mine), "--draws", "0")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt install chromium; .ci/run installs it)")
def test_the_page_renders_in_a_headless_browser(world: World, tmp_path: Path) -> None:
    """Chromium opens the file with networking off and draws a page whose charts decoded (their pixels are not
    the page's white)."""
    from PIL import Image

    out = tmp_path / "pack"
    assert run(world, "report", "scenarios/base.yaml", "--out", str(out), "--draws", "0").exit_code == 0
    shot = tmp_path / "page.png"
    assert CHROMIUM is not None
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,3000",
                    f"--screenshot={shot}", (out / "approval-pack.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 3000)
    colours = typing.cast(list[tuple[int, tuple[int, int, int]]], image.getcolors(maxcolors=1 << 20) or [])  # RGB
    blue = sum(count for count, (r, g, b) in colours if b > 150 and r < 60 and g < 130)  # the waterfall's bars
    green = sum(count for count, (r, g, b) in colours if g > 100 and r < 80 and b < 80)  # holds badges, bars
    assert blue > 1000 and green > 1000
