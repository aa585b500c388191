"""Master data of a synthetic bottler: channels, regions, categories, brands, products, accounts, the fiscal
calendar, seasonality, baselines, product groups and response profiles.

`World` carries what every later section refers to, plus a few scope helpers the term and calendar generators
use to keep their references valid and their scopes non-empty (a scope is always derived from an object that
exists, never guessed).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

YEAR = 2027
START = dt.date(2027, 1, 4)  # Monday of ISO week 1
WEEKS = 52
QUARTERS = (13, 13, 13, 13)

# channel -> (retail markup, pass-through, last-year volume range in cases, share of accounts, tier weights A/B/C)
CHANNELS: dict[str, tuple[float, float, tuple[int, int], float, tuple[int, int, int]]] = {
    "hypermarket": (0.25, 0.70, (80_000, 260_000), 0.14, (5, 3, 1)),
    "supermarket": (0.28, 0.60, (20_000, 90_000), 0.28, (2, 4, 4)),
    "convenience": (0.35, 0.30, (8_000, 45_000), 0.20, (2, 4, 4)),
    "wholesale": (0.12, 0.80, (50_000, 320_000), 0.10, (3, 4, 2)),
    "catering": (0.35, 0.20, (3_000, 20_000), 0.16, (1, 3, 6)),
    "ecommerce": (0.20, 0.80, (30_000, 160_000), 0.12, (4, 3, 2)),
}
REGIONS = ("shanghai", "jiangsu", "zhejiang", "anhui", "fujian", "jiangxi", "shandong", "hubei", "hunan", "henan",
           "guangdong", "sichuan")
CATEGORY_BRANDS: dict[str, tuple[str, ...]] = {
    "sparkling": ("cola", "lemonlime", "orange", "ginger", "cola-zero"),
    "water": ("icespring", "mineral-peak", "sparkle-water"),
    "juice": ("orchard", "citrus-grove", "berry-farm"),
    "tea": ("leaf-tea", "jasmine", "oolong"),
    "energy": ("volt", "surge"),
    "coffee": ("roast",),
}
# pack code -> (description, list price per case at category level 1.0)
PACKS = {
    "330-can": ("330ml can x24", 62.0), "500-pet": ("500ml PET x24", 70.0), "1250-pet": ("1.25L PET x12", 58.0),
    "2l-pet": ("2L PET x6", 40.0), "300-glass": ("300ml glass x24", 84.0), "200-can": ("200ml mini can x24", 52.0),
    "gift": ("gift box 8x330ml", 96.0), "1l-pet": ("1L PET x12", 50.0),
}
CATEGORY_PRICE = {"sparkling": 1.0, "water": 0.55, "juice": 1.25, "tea": 1.05, "energy": 1.6, "coffee": 1.7}
HOLIDAYS = (
    {"id": "spring-festival", "name": "Spring Festival", "weeks": [3, 4, 5], "uplift": 1.45},
    {"id": "labour-day", "name": "Labour Day golden week", "weeks": [17, 18], "uplift": 1.18},
    {"id": "dragon-boat", "name": "Dragon Boat Festival", "weeks": [23], "uplift": 1.08},
    {"id": "jd-618", "name": "618 mid-year sale", "weeks": [24], "uplift": 1.6, "applies_to": {"channel": "ecommerce"}},
    {"id": "summer-peak", "name": "Summer peak", "weeks": [28, 29, 30, 31, 32, 33], "uplift": 1.1},
    {"id": "mid-autumn", "name": "Mid-Autumn Festival", "weeks": [36, 37], "uplift": 1.15},
    {"id": "national-day", "name": "National Day golden week", "weeks": [39, 40], "uplift": 1.25},
    {"id": "double-11", "name": "Double 11", "weeks": [44, 45], "uplift": 2.2, "applies_to": {"channel": "ecommerce"}},
)


def pct(value: float) -> str:
    """A share written the way planners write it: 0.015 -> '1.5%'."""
    return f"{round(value * 100, 2):g}%"


def week_start(week: int) -> dt.date:
    return START + dt.timedelta(days=7 * (week - 1))


def date_range(first_week: int, last_week: int) -> Obj:
    """A `valid:` range covering whole fiscal weeks first..last (1-based, inclusive)."""
    return {"from": week_start(first_week), "to": week_start(last_week) + dt.timedelta(days=6)}


def quarter_weeks(quarter: int) -> tuple[int, int]:
    first = sum(QUARTERS[: quarter - 1]) + 1
    return first, first + QUARTERS[quarter - 1] - 1


@dataclass
class World:
    """The master data generated so far, and the rule objects by section (each tagged with its file)."""

    rng: random.Random
    channels: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    brands: list[Obj] = field(default_factory=list)
    products: list[Obj] = field(default_factory=list)
    accounts: list[Obj] = field(default_factory=list)
    groups: list[Obj] = field(default_factory=list)
    assortment: dict[str, list[str]] = field(default_factory=dict)
    sections: dict[str, list[tuple[str, Obj]]] = field(default_factory=dict)

    def add(self, section: str, file: str, item: Obj) -> None:
        self.sections.setdefault(section, []).append((file, item))

    def count(self, section: str) -> int:
        return len(self.sections.get(section, ()))

    def accounts_in(self, scope: Obj) -> list[Obj]:
        """Accounts an account scope ({account, channel, tier, region}; values may be lists) covers."""
        def ok(account: Obj) -> bool:
            for key in ("account", "channel", "tier", "region"):
                wanted = scope.get(key)
                if wanted is None:
                    continue
                value = account["id"] if key == "account" else account[key]
                if value not in (wanted if isinstance(wanted, list) else [wanted]):
                    return False
            return True
        return [a for a in self.accounts if ok(a)]

    def products_in(self, scope: Obj) -> list[Obj]:
        def ok(product: Obj) -> bool:
            for key in ("product", "brand", "category"):
                wanted = scope.get(key)
                if wanted is None:
                    continue
                value = product["id"] if key == "product" else product[key]
                if value not in (wanted if isinstance(wanted, list) else [wanted]):
                    return False
            return True
        return [p for p in self.products if ok(p)]

    def account_scope(self, account: Obj, style: str) -> Obj:
        """A scope that contains `account`: by account, channel, channel x tier, or region x channel."""
        if style == "account":
            return {"account": account["id"]}
        if style == "channel":
            return {"channel": account["channel"]}
        if style == "tier":
            return {"channel": account["channel"], "tier": account["tier"]}
        return {"channel": account["channel"], "region": account["region"]}

    def live_channels(self) -> list[str]:
        return [c for c in self.channels if any(a["channel"] == c for a in self.accounts)]


def build_master(world: World, accounts: int, products: int, groups: int, response: int,
                 seasonality: int) -> None:
    world.channels = list(CHANNELS)
    world.regions = list(REGIONS[: max(2, min(len(REGIONS), accounts // 30 + 2))])
    category_count = max(3, min(len(CATEGORY_BRANDS), products // 16 + 2))
    world.categories = list(CATEGORY_BRANDS)[:category_count]
    for category in world.categories:
        per_category = max(1, min(len(CATEGORY_BRANDS[category]), products // (6 * category_count) + 1))
        world.brands += [{"id": b, "category": category} for b in CATEGORY_BRANDS[category][:per_category]]
    _products(world, products)
    _accounts(world, accounts)
    master = "master/master.yaml"
    world.add("company", master, {"name": "Synthetic Bottling Co.", "currency": "CNY"})
    world.add("calendar", master, {"year": YEAR, "start": START, "weeks": WEEKS, "quarters": list(QUARTERS),
                                   "holidays": [dict(h) for h in HOLIDAYS]})
    for channel in world.channels:
        world.add("channels", master, {"id": channel, "name": channel.capitalize()})
    for region in world.regions:
        world.add("regions", master, {"id": region, "name": region.capitalize()})
    for category in world.categories:
        world.add("categories", "master/products.yaml", {"id": category, "name": category.capitalize()})
    for brand in world.brands:
        world.add("brands", "master/products.yaml", {"id": brand["id"], "name": brand["id"].capitalize()})
    for product in world.products:
        world.add("products", "master/products.yaml", {k: product[k] for k in (
            "id", "name", "brand", "category", "pack", "units_per_case", "list_price", "cogs")})
    for account in world.accounts:
        world.add("accounts", f"master/accounts-{account['channel']}.yaml", {k: v for k, v in account.items()})
    _seasonality(world, seasonality)
    _baselines(world)
    _groups(world, groups)
    _response(world, response)


def _products(world: World, count: int) -> None:
    rng, brands = world.rng, world.brands
    packs = list(PACKS)
    for n in range(count):
        brand = brands[n % len(brands)]
        variant = n // len(brands)
        pack = packs[variant % len(packs)]
        suffix = "" if variant < len(packs) else f"-v{variant // len(packs) + 1}"
        description, base = PACKS[pack]
        list_price = round(base * CATEGORY_PRICE[brand["category"]] * rng.uniform(0.92, 1.08), 1)
        world.products.append({
            "id": f"{brand['id']}-{pack}{suffix}", "name": f"{brand['id'].capitalize()} {description}",
            "brand": brand["id"], "category": brand["category"], "pack": description, "units_per_case": 24,
            "list_price": list_price, "cogs": round(list_price * rng.uniform(0.48, 0.56), 1)})


def _accounts(world: World, count: int) -> None:
    rng = world.rng
    channels = list(CHANNELS)
    weights = [CHANNELS[c][3] for c in channels]
    plan = channels[: min(count, len(channels))] + rng.choices(channels, weights, k=max(0, count - len(channels)))
    for n, channel in enumerate(plan, start=1):
        markup, pass_through, (low, high), _, tier_weights = CHANNELS[channel]
        region = world.regions[rng.randrange(len(world.regions))]
        tier = rng.choices("ABC", tier_weights)[0]
        shelf = {c: pct(round(rng.uniform(0.12, 0.6), 2)) for c in world.categories if rng.random() < 0.7}
        account: Obj = {
            "id": f"{channel[:4]}-{region}-{n:04d}", "name": f"{channel.capitalize()} chain {n} ({region})",
            "channel": channel, "tier": tier, "region": region, "partner_since": rng.randint(1995, 2025),
            "market_position": rng.choice(["leader", "challenger", "challenger", "follower"]),
            "last_year_volume": rng.randrange(low, high, 500), "pass_through": pct(pass_through),
            "retail_markup": pct(markup), "safety_stock_weeks": rng.choice([1.0, 1.0, 1.5, 2.0])}
        if shelf:
            account["shelf_share"] = shelf
        world.accounts.append(account)
        carried = [p["id"] for p in world.products if rng.random() < 0.75]
        world.assortment[account["id"]] = carried or [world.products[0]["id"]]


def _seasonality(world: World, count: int) -> None:
    """Profiles of 13 four-week periods: a smooth yearly wave peaking in a different period each."""
    rng = world.rng
    for n in range(max(1, count)):
        peak, amplitude = rng.randrange(13), rng.uniform(0.08, 0.3)
        weights = [round(1 + amplitude * math.cos(2 * math.pi * (period - peak) / 13), 2) for period in range(13)]
        world.add("seasonality", "master/seasonality.yaml", {"id": f"season-{n + 1:02d}", "weights": weights})


def _baselines(world: World) -> None:
    rng = world.rng
    profiles = [s["id"] for _, s in world.sections["seasonality"]]
    for account in world.accounts:
        scale = account["last_year_volume"] / 52 / max(1, len(world.assortment[account["id"]]))
        cases = {p: round(scale * rng.uniform(0.4, 1.6)) for p in world.assortment[account["id"]]}
        world.add("baselines", f"master/baselines-{account['channel']}.yaml", {
            "id": f"bl-{account['id']}", "account": account["id"], "seasonality": rng.choice(profiles),
            "cases_per_week": cases})


def _groups(world: World, count: int) -> None:
    """Brand lines first (what events are usually planned on), then single-SKU lines, then whole categories."""
    candidates: list[Obj] = [{"id": f"grp-{b['id']}", "products": {"brand": b["id"]}} for b in world.brands]
    for product in world.products:
        candidates.append({"id": f"grp-{product['id']}", "products": {"product": [product["id"]]}})
    candidates += [{"id": f"grp-all-{c}", "products": {"category": c}} for c in world.categories]
    for n, group in enumerate(candidates[: max(4, count)]):
        group["cls"] = n % 2  # slot class: lines of different classes never share a week (see synth_calendar)
        world.groups.append(group)
        world.add("product_groups", "master/product-groups.yaml",
                  {"id": group["id"], "name": group["id"][4:].replace("-", " "), "products": group["products"]})


def _response(world: World, count: int) -> None:
    rng = world.rng
    items: list[Obj] = [{"id": "resp-default", "elasticity": -2.0, "post_promo_dip": "25%", "dip_weeks": 2,
                         "cannibalization": "15%"}]
    items += [{"id": f"resp-{c}", "applies_to": {"category": c}, "elasticity": round(rng.uniform(-3.0, -1.4), 1),
               "post_promo_dip": pct(rng.choice([0.15, 0.2, 0.25, 0.35])), "cannibalization": "20%"}
              for c in world.categories]
    for channel in world.live_channels():
        for category in world.categories:
            items.append({"id": f"resp-{channel}-{category}", "applies_to": {"channel": channel, "category": category},
                          "elasticity": round(rng.uniform(-3.2, -1.2), 1), "post_promo_dip": "20%",
                          "dip_weeks": rng.choice([1, 2, 3])})
    while len(items) < count:
        account, brand = rng.choice(world.accounts), rng.choice(world.brands)
        items.append({"id": f"resp-{account['id']}-{brand['id']}-{len(items)}",
                      "applies_to": {"account": account["id"], "brand": brand["id"]},
                      "elasticity": round(rng.uniform(-3.5, -1.0), 1), "baseline_noise": "12%"})
    for item in items[: max(1, count)]:
        world.add("response", "master/response.yaml", item)
