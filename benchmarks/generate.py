"""A seeded generator of realistic rule sets of any size, for benchmarks and scale tests.

    python -m benchmarks.generate OUT_DIR --rules 10000 [--seed 0] [--accounts N] [--products N]

The set looks like a bottler's rules repository: master data, pricing, rebates, promotions, vividness, policy and
calendar folders, large sections split by channel and into files of at most 2,000 objects. Kinds come in the
proportions of a real plan (per 10,000 rules about 340 accounts, 90 products, 340 baselines, 2,900 discounts,
1,400 rebates, 340 mechanics, 2,350 events, 900 calendar rules, 660 budgets, floors and caps, 450 shelf targets,
displays and coolers, and price bands, product groups, response profiles, seasonality), and the data is
consistent by construction so that `planner validate` reports no finding: see the docstrings of synth_terms,
synth_policy and synth_calendar for the arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from benchmarks.synth_calendar import Calendar, build_mechanics
from benchmarks.synth_master import Obj, World, build_master
from benchmarks.synth_policy import build_policy, build_vividness
from benchmarks.synth_terms import build_discounts, build_price_bands, build_rebates
from planner.rules.schema import SECTIONS

# Rule objects per 10,000 (baselines follow accounts; events take whatever is left so the total is on target).
PER_10K = {
    "accounts": 300, "products": 80, "discounts": 2600, "rebates": 1250, "mechanics": 300, "events": 2100,
    "calendar_rules": 800, "budgets": 380, "floors": 210, "shelf_targets": 160, "displays": 140, "coolers": 100,
    "price_bands": 60, "product_groups": 60, "response": 40, "seasonality": 13,
}
_WEIGHT = sum(PER_10K.values()) + PER_10K["accounts"] + 35  # + baselines + channels, regions, categories, brands
MAX_OBJECTS_PER_FILE = 2000
SINGLE_LINE = {"channels", "regions", "categories", "brands", "products", "product_groups", "seasonality", "events",
               "calendar_rules", "shelf_targets", "coolers", "margin_floors", "price_floors", "trade_spend_caps",
               "budgets", "mechanics", "discounts"}


def plan_counts(rules: int, accounts: int | None = None, products: int | None = None) -> dict[str, int]:
    """How many objects of each kind to aim for (events are topped up at the end)."""
    plan = {kind: max(1, round(weight * rules / _WEIGHT)) for kind, weight in PER_10K.items()}
    plan["accounts"] = accounts or max(6, plan["accounts"])
    plan["products"] = products or max(8, plan["products"])
    plan["mechanics"] = max(8, plan["mechanics"])
    plan["product_groups"] = max(4, plan["product_groups"])
    return plan


def write_rule_set(folder: Path, rules: int, seed: int = 0, accounts: int | None = None,
                   products: int | None = None) -> dict[str, int]:
    """Write a rule set of about `rules` rule objects (as `RuleSet.rule_count` counts them) into `folder`.

    Deterministic for a given (rules, seed, accounts, products). Returns the number of objects per section.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.rglob("*.y*ml")):
        raise FileExistsError(f"{folder} already holds YAML files; give an empty or new folder")
    plan = plan_counts(rules, accounts, products)
    world = World(random.Random(seed))
    build_master(world, plan["accounts"], plan["products"], plan["product_groups"], plan["response"],
                 plan["seasonality"])
    build_price_bands(world, plan["price_bands"])
    build_discounts(world, plan["discounts"])
    build_rebates(world, plan["rebates"])
    build_vividness(world, plan["shelf_targets"], plan["displays"], plan["coolers"])
    build_policy(world, plan["floors"], plan["budgets"])
    calendar = Calendar(world, build_mechanics(world, plan["mechanics"]))
    calendar.rules(plan["calendar_rules"])
    so_far = sum(world.count(name) for name in SECTIONS if not SECTIONS[name].single)
    calendar.events(max(0, rules - so_far))
    _write(folder, world, seed)
    return {name: world.count(name) for name in SECTIONS if world.count(name)}


def _write(folder: Path, world: World, seed: int) -> None:
    files: dict[str, dict[str, list[Obj]]] = {}
    for name in SECTIONS:  # file -> section -> objects, in the rule language's section order
        for file, item in world.sections.get(name, ()):
            files.setdefault(file, {}).setdefault(name, []).append(item)
    for file, sections in files.items():
        chunks = _split(sections)
        for n, chunk in enumerate(chunks, start=1):
            name = file if len(chunks) == 1 else file.replace(".yaml", f"-{n:02d}.yaml")
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render(chunk, f"{file} (part {n} of {len(chunks)})" if len(chunks) > 1 else file, seed),
                            encoding="utf-8")


def _split(sections: dict[str, list[Obj]]) -> list[dict[str, list[Obj]]]:
    chunks: list[dict[str, list[Obj]]] = [{}]
    size = 0
    for name, items in sections.items():
        for item in items:
            if size >= MAX_OBJECTS_PER_FILE:
                chunks.append({})
                size = 0
            chunks[-1].setdefault(name, []).append(item)
            size += 1
    return chunks


def _render(sections: dict[str, list[Obj]], title: str, seed: int) -> str:
    lines = [f"# {title}: generated by benchmarks/generate.py (seed {seed}); do not edit by hand."]
    for name, items in sections.items():
        lines.append("")
        if SECTIONS[name].single:
            lines.append(f"{name}:")
            for key, value in items[0].items():
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    lines.append(f"  {key}:")
                    lines += [f"    - {_flow(element)}" for element in value]
                else:
                    lines.append(f"  {key}: {_flow(value)}")
            continue
        lines.append(f"{name}:")
        for item in items:
            if name in SINGLE_LINE:
                lines.append(f"  - {_flow(item)}")
            else:
                first, *rest = item.items()
                lines.append(f"  - {first[0]}: {_flow(first[1])}")
                lines += [f"    {key}: {_flow(value)}" for key, value in rest]
    return "\n".join(lines) + "\n"


_PLAIN = re.compile(r"^(-?[0-9.]+%|[A-Za-z][A-Za-z0-9 _./()-]*[A-Za-z0-9)]|[A-Za-z])$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _flow(value: Any) -> str:
    """One value in YAML flow style: what a person writes inline, e.g. {channel: hypermarket, brand: cola}."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value if _PLAIN.match(value) and value.lower() not in _RESERVED else json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to YAML")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rules", type=int, default=1500, help="rule objects to aim for (default 1500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accounts", type=int, default=None, help="override the number of accounts")
    parser.add_argument("--products", type=int, default=None, help="override the number of products")
    args = parser.parse_args(argv)
    counts = write_rule_set(args.out_dir, args.rules, args.seed, args.accounts, args.products)
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>7,}")
    total = sum(count for name, count in counts.items() if not SECTIONS[name].single)
    print(f"{'rules':<{width}}  {total:>7,}  in {args.out_dir}")
    if abs(total - args.rules) > 0.1 * args.rules:
        print(f"note: {total:,} rules, not {args.rules:,}: too few accounts or products to hold that many events",
              file=sys.stderr)


if __name__ == "__main__":
    main()
