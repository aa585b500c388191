"""The tiny optimizer world (2 accounts, a few products and rules) that the optimize, sweep and api tests run."""

from __future__ import annotations

from pathlib import Path

WORLD = """\
company: {name: Tiny Bottler, currency: CNY}
calendar: {year: 2027, start: 2027-01-04, weeks: 12, quarters: [3, 3, 3, 3]}
channels: [{id: hypermarket}, {id: convenience}]
regions: [{id: east}]
categories: [{id: sparkling}, {id: water}]
brands: [{id: cola}, {id: aqua}]
products:
  - {id: cola-can, brand: cola, category: sparkling, pack: 330ml can x24, list_price: 60, cogs: 30}
  - {id: aqua-pet, brand: aqua, category: water, pack: 550ml PET x24, list_price: 30, cogs: 14}
accounts:
  - {id: hyper-a, channel: hypermarket, tier: A, region: east, partner_since: 2015, last_year_volume: 9000,
     shelf_share: {sparkling: 30%, water: 20%}}
  - {id: conv-b, channel: convenience, tier: B, region: east, partner_since: 2021, last_year_volume: 3000}
baselines:
  - {id: hyper-a-base, account: hyper-a, cases_per_week: {cola-can: 500, aqua-pet: 300}}
  - {id: conv-b-base, account: conv-b, cases_per_week: {cola-can: 150, aqua-pet: 100}}
product_groups:
  - {id: cola, products: {brand: cola}}
  - {id: water, products: {category: water}}
response:
  - {id: default, elasticity: -2.5, post_promo_dip: 20%, cannibalization: 10%}
budgets:
  - {id: total, max: 20000}
  - {id: per-account, per: account, min: 2000}
rebates:
  - id: hyper-volume
    applies_to: {account: hyper-a}
    period: year
    basis: volume
    method: retroactive
    tiers:
      - {from: 9000, rate: 1%}
      - {from: 10500, rate: 2%}
mechanics:
  - {id: tpr-15, kind: price_cut, depth: 15%, funding: 80%}
  - {id: tpr-25-feature, kind: price_cut, depth: 25%, feature: true, lift: 1.3, funding: 70%, fixed_cost: 800}
calendar_rules:
  - {id: run-2, kind: max_consecutive, weeks: 2}
shelf_targets:
  - {id: st-sparkling, applies_to: {account: hyper-a}, category: sparkling, share: 40%, cost_per_point: 100}
  - {id: st-water, applies_to: {account: hyper-a}, category: water, share: 25%, cost_per_point: 1500}
coolers:
  - {id: cooler-b, applies_to: {account: conv-b}, products: {brand: cola}, units: 2, cost_per_unit: 300,
     cases_per_unit_week: 5}
"""
SCENARIO = """\
scenario:
  id: tiny
  name: Tiny world
  rules: ../rules
  options: {time_limit: 30, gap: 0.0001}
"""


def write_tiny_world(root: Path) -> Path:
    """Write the world's rules folder and scenario under `root`; return the scenario file."""
    (root / "rules").mkdir()
    (root / "rules" / "world.yaml").write_text(WORLD, encoding="utf-8")
    (root / "scenarios").mkdir()
    (root / "scenarios" / "tiny.yaml").write_text(SCENARIO, encoding="utf-8")
    return root / "scenarios" / "tiny.yaml"
