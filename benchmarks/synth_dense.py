"""The dense shape: the demo's rules/ cloned with new ids up to N rule objects.

A real repository holds hundreds of discounts, rebates, budgets and calendar rules per channel, most of them on the
same few scopes. The sparse generator (benchmarks.generate) spreads its rules over many accounts and products; this
one keeps the demo's master data (company, calendar, channels, regions, categories, brands, products, accounts,
seasonality, baselines, product groups, response) and clones every other rule object, round-robin, with the id
suffix `-c<k>`, so that many rules share each scope. Clones keep the originals' scopes, references and values;
stacked clones break floors, shelf sums and budgets that the demo keeps, which is the point: the checker must stay
fast and its output linear in the findings when one scope carries hundreds of rules.

    write_dense_rule_set(folder, 10_000)   # the demo's 12 files + clone files of at most 2,000 objects
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parent.parent / "rules"
MASTER_SECTIONS = {"company", "calendar", "channels", "regions", "categories", "brands", "products", "accounts",
                   "seasonality", "baselines", "product_groups", "response"}
MAX_OBJECTS_PER_FILE = 2000


def _demo_sections(demo: Path) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """The demo's clonable objects per section (file order), and its rule-object count."""
    clonable: dict[str, list[dict[str, Any]]] = {}
    count = 0
    for path in sorted(demo.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for section, items in document.items():
            if section in ("company", "calendar") or not isinstance(items, list):
                continue
            count += len(items)
            if section not in MASTER_SECTIONS:
                clonable.setdefault(section, []).extend(items)
    return clonable, count


def write_dense_rule_set(folder: Path, rules: int, demo: Path = DEMO) -> dict[str, int]:
    """Write the demo's files and clone files into `folder` so that it holds about `rules` rule objects
    (`RuleSet.rule_count`). Deterministic. Returns the number of clones per section."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(demo.glob("*.yaml")):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    clonable, count = _demo_sections(demo)
    originals = [(section, item) for section, items in clonable.items() for item in items]
    clones: dict[str, list[dict[str, Any]]] = {section: [] for section in clonable}
    for n in range(max(0, rules - count)):
        section, item = originals[n % len(originals)]
        clones[section].append({**item, "id": f"{item['id']}-c{n // len(originals) + 1}"})
    for section, items in clones.items():
        for part, start in enumerate(range(0, len(items), MAX_OBJECTS_PER_FILE)):
            text = yaml.safe_dump({section: items[start:start + MAX_OBJECTS_PER_FILE]}, sort_keys=False,
                                  allow_unicode=True, width=200)
            (folder / f"clones-{section}-{part + 1:02d}.yaml").write_text(text, encoding="utf-8")
    return {section: len(items) for section, items in clones.items()}
