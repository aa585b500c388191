"""A synthetic bottler world of any size, built directly as rule objects (no YAML), for the simulator benchmark.

    synthetic_world(accounts=1000, products=100, weeks=52, seed=0) -> RuleSet

`benchmarks.generate` writes rule *files* sized by rule count (what `planner validate` reads); this builds the
rule set in memory sized by its dimensions, accounts x products x weeks, which is what the economics core's cost
depends on. The channel mix, packs, prices and holidays are the generator's (benchmarks.synth_master), so both
describe the same bottler. What the world holds, and why the numbers are what they are:

* master data: the six channels, regions, one to six categories with their brands, products by brand and pack
  (COGS 55-60% of list), accounts with channel-typical markup, pass-through, tier, region and shelf shares;
* demand: a baseline for every account x carried product (about 80% of the range; cases/week from the channel's
  volume range), a seasonality profile per channel, the holidays, response profiles by default, category,
  channel x category and a few account x brand refinements (elasticity, a dip over 2 weeks, cannibalization);
* terms: up to 24 discounts (channel terms, a tier-A best_of pair, two exclusive wholesale load-ins in disjoint windows,
  an e-commerce net-price stop rule, brand and region discounts, two fixed listing fees), 6 rebates (quarterly and
  annual, volume, revenue and growth, retroactive and incremental; tiers scaled to the channel's median account so
  that they are reached), 3 price bands;
* promotions: 6 mechanics scoped by channel, a product group per brand, 4 events per account (one per quarter,
  1-3 weeks, on a brand the account carries, with a mechanic allowed in its channel), so about 2% of cells are
  promoted at 100 products (more in tiny worlds with few brands);
* vividness and policy: shelf targets per channel x category (at most one per account and category), 3 displays,
  2 cooler terms, margin floors, a price floor, trade-spend caps, budgets and calendar rules the events obey;
  fixed money is scaled with the world's size (TYPICAL_RANGE), so trade spend stays 12-20% of gross sales.

Deterministic for a given (accounts, products, weeks, seed). The worst legal stack stays above the price floor
(`planner.check.run_checks` reports no error: tests/test_bench_worlds.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.synth_master import (
    CATEGORY_BRANDS,
    CATEGORY_PRICE,
    CHANNELS,
    HOLIDAYS,
    PACKS,
    REGIONS,
    START,
    YEAR,
)
from planner.rules.schema import (
    Account,
    Baseline,
    Brand,
    Budget,
    Calendar,
    Category,
    Channel,
    Company,
    Cooler,
    Discount,
    Display,
    Event,
    Holiday,
    MarginFloor,
    Mechanic,
    PriceBand,
    PriceFloor,
    Product,
    ProductGroup,
    Rebate,
    Region,
    Response,
    RuleSet,
    Seasonality,
    ShelfTarget,
    TradeSpendCap,
)
from planner.rules.schema.policy import EventCount, FeatureMinDepth, MaxConsecutive, MinGap

# Mechanics: (id, fields, channels where the mechanic may run). Effective depth x funding stays <= 10% of the
# shelf price, so the worst legal stack keeps dead-net above COGS + 5% (the price floor below).
MECHANICS: tuple[tuple[str, dict[str, Any], tuple[str, ...]], ...] = (
    ("tpr-10", {"kind": "price_cut", "depth": 0.10, "funding": 0.5},
     ("hypermarket", "supermarket", "wholesale", "ecommerce")),
    ("tpr-20-feature", {"kind": "price_cut", "depth": 0.20, "feature": True, "lift": 1.4, "funding": 0.5,
                        "fixed_cost": 15000}, ("hypermarket", "supermarket")),
    ("bogo", {"kind": "bogo", "redemption": 0.3, "funding": 0.3, "lift": 1.1}, ("hypermarket", "supermarket")),
    ("coupon-app-10", {"kind": "coupon", "depth": 0.10, "redemption": 0.35, "funding": 1.0, "fixed_cost": 2000},
     ("supermarket", "convenience", "ecommerce")),
    ("display-endcap", {"kind": "display", "depth": 0.15, "display": True, "lift": 1.5, "funding": 0.5,
                        "fixed_cost": 8000}, ("hypermarket", "supermarket")),
    ("tasting", {"kind": "tasting", "lift": 1.2, "fixed_cost": 3000}, ("convenience", "catering", "wholesale")),
)
TYPICAL_RANGE, TYPICAL_LINE = 80, 12
"""Fixed money (fees, event costs, coolers, budgets) is sized for a range of 80 SKUs over 52 weeks and a brand line
of 12 SKUs, and scaled with the world, so a small test world keeps a realistic P&L."""
SEASON_PEAK = {"hypermarket": 7, "supermarket": 7, "convenience": 7, "wholesale": 6, "catering": 0, "ecommerce": 8}
"""Four-week period (0-based) in which each channel's demand peaks: summer, except hotpot restaurants (winter)."""


def synthetic_world(accounts: int, products: int, weeks: int = 52, seed: int = 0) -> RuleSet:
    """A valid, realistic rule set with `accounts` x `products` x `weeks` cells (see the module docstring)."""
    if accounts < 1 or products < 1 or not 12 <= weeks <= 53:
        raise ValueError("need at least one account and one product, and 12 to 53 weeks (room for 4 events)")
    rng = np.random.default_rng(seed)
    calendar = _calendar(weeks)
    brands = _brands(products)
    categories = sorted({category for _, category in brands}, key=list(CATEGORY_BRANDS).index)
    product_list = _products(rng, products, brands)
    account_list, carried = _accounts(rng, accounts, product_list, categories, weeks)
    live = [c for c in CHANNELS if any(a.channel == c for a in account_list)]
    yearly = products / TYPICAL_RANGE * weeks / 52  # scale of yearly lump sums
    line = min(1.0, products / len(brands) / TYPICAL_LINE)  # scale of costs per event or display week
    return RuleSet(
        company=Company(name="Synthetic Bottling Co.", currency="CNY"),
        calendar=calendar,
        channels=tuple(Channel(id=c, name=c.capitalize()) for c in CHANNELS),
        regions=tuple(Region(id=r, name=r.capitalize()) for r in REGIONS),
        categories=tuple(Category(id=c, name=c.capitalize()) for c in categories),
        brands=tuple(Brand(id=b, name=b.capitalize()) for b, _ in brands),
        products=product_list,
        accounts=account_list,
        seasonality=tuple(_seasonality(channel) for channel in CHANNELS),
        baselines=tuple(Baseline(id=f"bl-{a.id}", account=a.id, seasonality=f"season-{a.channel}",
                                 cases_per_week=carried[a.id]) for a in account_list),
        product_groups=tuple(ProductGroup(id=f"pg-{b}", name=f"{b} range", products={"brand": b}) for b, _ in brands),
        response=_response(account_list, brands, categories, live),
        price_bands=_price_bands(),
        discounts=_discounts(account_list, brands, live, weeks, yearly),
        rebates=_rebates(account_list, carried, product_list, live, weeks, calendar.quarters),
        mechanics=tuple(Mechanic(id=m, applies_to={"channel": list(ch)},
                                 **{**fields, "fixed_cost": round(fields.get("fixed_cost", 0.0) * line, 2)})
                        for m, fields, ch in MECHANICS),
        events=_events(rng, account_list, carried, product_list, weeks),
        shelf_targets=_shelf_targets(categories, live, yearly),
        displays=_displays(brands, live, weeks, line),
        coolers=tuple(Cooler(id=f"cooler-{c}", applies_to={"channel": c}, products={"category": "sparkling"},
                             units=max(1, round(units * yearly)), cost_per_unit=1600, cases_per_unit_week=0.8)
                      for c, units in (("convenience", 200), ("catering", 30))
                      if c in live and "sparkling" in categories),
        margin_floors=(MarginFloor(id="mf-total", per="total", min_gross_margin=0.25),
                       MarginFloor(id="mf-channel", per="channel", min_gross_margin=0.22),
                       MarginFloor(id="mf-tier-c", applies_to={"tier": "C"}, min_gross_margin=0.28)),
        price_floors=(PriceFloor(id="pf-all", min_markup=0.05),),
        trade_spend_caps=(TradeSpendCap(id="tsc-total", max_share=0.20),
                          TradeSpendCap(id="tsc-channel", per="channel", max_share=0.25)),
        budgets=(Budget(id="bud-total", max=round(60_000.0 * accounts * yearly)),
                 *(Budget(id=f"bud-q{q}", period=f"Q{q}", max=round(18_000.0 * accounts * yearly))
                   for q in range(1, 5))),
        calendar_rules=(FeatureMinDepth(id="cr-feature-depth", kind="feature_min_depth", min_depth=0.15),
                        MaxConsecutive(id="cr-max-run", kind="max_consecutive", weeks=3),
                        MinGap(id="cr-min-gap", kind="min_gap", weeks=2),
                        EventCount(id="cr-max-per-quarter", kind="event_count", period="quarter", max=6)),
    )


def _week_start(week: int) -> dt.date:
    return START + dt.timedelta(days=7 * (week - 1))


def _valid(first: int, last: int) -> dict[str, dt.date]:
    """Whole fiscal weeks first..last (1-based, inclusive) as a validity range."""
    return {"from": _week_start(first), "to": _week_start(last) + dt.timedelta(days=6)}


def _scaled(week: int, weeks: int) -> int:
    """A week of the 52-week year moved to the same point of a `weeks`-week year."""
    return max(1, min(weeks, round(week * weeks / 52)))


def _calendar(weeks: int) -> Calendar:
    quarters = tuple(weeks // 4 + (q < weeks % 4) for q in range(4))
    holidays = []
    for holiday in HOLIDAYS:
        live = sorted({_scaled(w, weeks) for w in holiday["weeks"]})  # type: ignore[attr-defined]
        holidays.append(Holiday.model_validate({**holiday, "weeks": live}))
    return Calendar(year=YEAR, start=START, weeks=weeks, quarters=quarters, holidays=tuple(holidays))


def _brands(products: int) -> list[tuple[str, str]]:
    """About one brand per 12 products (2 to 12), taken round the categories so each keeps its leading brands."""
    pool = [(brand, category) for rank in range(max(map(len, CATEGORY_BRANDS.values())))
            for category, names in CATEGORY_BRANDS.items() if rank < len(names) for brand in names[rank:rank + 1]]
    return pool[: max(2, min(12, round(products / 12)))]


def _products(rng: np.random.Generator, count: int, brands: list[tuple[str, str]]) -> tuple[Product, ...]:
    packs = list(PACKS)
    out = []
    for n in range(count):
        brand, category = brands[n % len(brands)]
        variant = n // len(brands)
        pack = packs[variant % len(packs)]
        description, base = PACKS[pack]
        list_price = round(base * CATEGORY_PRICE[category] * rng.uniform(0.92, 1.08), 1)
        out.append(Product(id=f"{brand}-{pack}-{n:04d}", name=f"{brand} {description}", brand=brand,
                           category=category, pack=description, list_price=list_price,
                           cogs=round(list_price * rng.uniform(0.55, 0.60), 2)))
    return tuple(out)


def _accounts(rng: np.random.Generator, count: int, products: tuple[Product, ...], categories: list[str],
              weeks: int) -> tuple[tuple[Account, ...], dict[str, dict[str, float]]]:
    channels = list(CHANNELS)
    share = np.array([CHANNELS[c][3] for c in channels])
    plan = channels[: min(count, len(channels))] + list(rng.choice(channels, size=max(0, count - len(channels)),
                                                                   p=share / share.sum()))
    accounts, carried = [], {}
    for n, channel in enumerate(plan, start=1):
        markup, pass_through, (low, high), _, tier_weights = CHANNELS[channel]
        region = REGIONS[int(rng.integers(len(REGIONS)))]
        tier = str(rng.choice(list("ABC"), p=np.array(tier_weights) / sum(tier_weights)))
        account_id = f"{channel[:4]}-{region}-{n:05d}"
        assortment = [p for p in products if rng.random() < 0.8] or [products[n % len(products)]]
        yearly = rng.uniform(low, high) * len(products) / 80 * weeks / 52  # a range of 80 SKUs is typical
        mix = rng.lognormal(0.0, 0.6, size=len(assortment))
        cases = {p.id: round(float(c), 1) for p, c in zip(assortment, yearly / weeks * mix / mix.sum())}
        carried[account_id] = cases
        growth = rng.uniform(0.03, 0.15)
        accounts.append(Account(
            id=account_id, name=f"{channel.capitalize()} chain {n} ({region})", channel=channel, tier=tier,
            region=region, partner_since=int(rng.integers(1995, 2025)),
            market_position=str(rng.choice(["leader", "challenger", "challenger", "follower"])),
            shelf_share={c: round(float(rng.uniform(0.4, 0.6) if c == "sparkling" else rng.uniform(0.1, 0.2)), 2)
                         for c in categories},
            last_year_volume=round(sum(cases.values()) * weeks / (1 + growth)),
            growth_target=0.2 if tier == "A" else None, pass_through=pass_through, retail_markup=markup,
            safety_stock_weeks=float(rng.choice([1.0, 1.0, 1.5, 2.0]))))
    return tuple(accounts), carried


def _seasonality(channel: str) -> Seasonality:
    """13 four-week periods, a smooth yearly wave (mean 1) peaking in the channel's season."""
    period = np.arange(13)
    weights = 1 + 0.2 * np.cos(2 * np.pi * (period - SEASON_PEAK[channel]) / 13)
    return Seasonality(id=f"season-{channel}", weights=tuple(round(float(w), 3) for w in weights))


def _response(accounts: tuple[Account, ...], brands: list[tuple[str, str]], categories: list[str],
              live: list[str]) -> tuple[Response, ...]:
    out = [Response(id="resp-default", elasticity=-2.2, post_promo_dip=0.2, dip_weeks=2, cannibalization=0.15)]
    by_category = {"sparkling": -2.6, "water": -3.0, "juice": -1.8, "tea": -2.0, "energy": -1.6, "coffee": -1.4}
    out += [Response(id=f"resp-{c}", applies_to={"category": c}, elasticity=by_category[c], post_promo_dip=0.2,
                     dip_weeks=2, cannibalization=0.2 if c == "water" else 0.15) for c in categories]
    for channel, elasticity, dip in (("ecommerce", -3.0, 0.35), ("convenience", -1.6, 0.05), ("catering", -1.5, 0.0)):
        out += [Response(id=f"resp-{channel}-{c}", applies_to={"channel": channel, "category": c},
                         elasticity=elasticity, post_promo_dip=dip, dip_weeks=2, cannibalization=0.25)
                for c in categories if channel in live]
    leaders = [a for a in accounts if a.channel == "hypermarket"][:5]
    out += [Response(id=f"resp-{a.id}-{brands[0][0]}", applies_to={"account": a.id, "brand": brands[0][0]},
                     elasticity=-2.8, post_promo_dip=0.25, dip_weeks=2, cannibalization=0.15, elasticity_sd=0.15)
            for a in leaders]
    return tuple(out)


def _price_bands() -> tuple[PriceBand, ...]:
    return tuple(PriceBand.model_validate(band) for band in (
        {"id": "band-volume", "basis": "last_year_volume",
         "tiers": [{"from": 0, "adjustment": 0.0}, {"from": 100_000, "adjustment": -0.01},
                   {"from": 180_000, "adjustment": -0.02}]},
        {"id": "band-partnership", "basis": "partnership_years",
         "tiers": [{"from": 0, "adjustment": 0.0}, {"from": 10, "adjustment": -0.005},
                   {"from": 20, "adjustment": -0.01}]},
        {"id": "band-market-position", "applies_to": {"channel": ["hypermarket", "supermarket"]},
         "basis": "market_position", "positions": {"leader": -0.015, "challenger": -0.005, "follower": 0.0}}))


def _discounts(accounts: tuple[Account, ...], brands: list[tuple[str, str]], live: list[str],
               weeks: int, yearly: float) -> tuple[Discount, ...]:
    """About 20 discounts; only channels with accounts get channel-scoped ones (so none is never applicable)."""
    items: list[dict[str, Any]] = []
    terms = {"hypermarket": {"percent": 0.04}, "supermarket": {"percent": 0.03}, "convenience": {"percent": 0.025},
             "wholesale": {"percent": 0.04}, "catering": {"per_case": 2.0}, "ecommerce": {"percent": 0.04}}
    items += [{"id": f"d-{c}-terms", "applies_to": {"channel": c}, "priority": 50, **terms[c]} for c in live]
    if any(a.tier == "A" for a in accounts):  # the richer of 2% or a pallet deal, never both
        items += [{"id": "d-tier-a-loyalty", "applies_to": {"tier": "A"}, "percent": 0.02, "stacking": "best_of",
                   "group": "tier-a", "priority": 60},
                  {"id": "d-tier-a-pallet", "applies_to": {"tier": "A"}, "per_case": 1.2, "stacking": "best_of",
                   "group": "tier-a", "priority": 60}]
    if "wholesale" in live:  # load-ins replace the standard terms; their windows never overlap
        items += [{"id": "d-wholesale-cny-load-in", "applies_to": {"channel": "wholesale"}, "percent": 0.07,
                   "valid": _valid(1, _scaled(4, weeks)), "stacking": "exclusive", "priority": 20},
                  {"id": "d-wholesale-summer-load-in", "applies_to": {"channel": "wholesale"}, "per_case": 4.0,
                   "valid": _valid(_scaled(21, weeks), _scaled(25, weeks)), "stacking": "exclusive", "priority": 20}]
    online = [a for a in accounts if a.channel == "ecommerce"]
    if len(online) > 1:  # one platform's net-price agreement replaces every other deal there
        items.append({"id": "d-net-price-agreement", "applies_to": {"account": online[0].id}, "percent": 0.08,
                      "priority": 10, "stop": True})
    modern = [c for c in ("hypermarket", "supermarket") if c in live]
    for brand, _ in brands[:4]:
        items.append({"id": f"d-{brand}-launch", "applies_to": {"brand": brand}, "percent": 0.015,
                      "valid": _valid(_scaled(14, weeks), _scaled(26, weeks)), "priority": 80})
        if modern:
            items.append({"id": f"d-{brand}-modern-trade", "applies_to": {"brand": brand, "channel": modern},
                          "per_case": 0.8, "priority": 80})
    regions = sorted({a.region for a in accounts if not online or a.id != online[0].id})
    items += [{"id": f"d-freight-{r}", "applies_to": {"region": r}, "per_case": 0.5, "priority": 90}
              for r in regions[:3]]
    items += [{"id": f"d-listing-{c}", "applies_to": {"channel": c}, "fixed": round(fee * yearly, 2)}
              for c, fee in (("hypermarket", 50_000.0), ("supermarket", 20_000.0)) if c in live]
    return tuple(Discount.model_validate(item) for item in items)


def _rebates(accounts: tuple[Account, ...], carried: dict[str, dict[str, float]], products: tuple[Product, ...],
             live: list[str], weeks: int, quarters: tuple[int, ...]) -> tuple[Rebate, ...]:
    """Six rebates; volume and revenue tiers at 0.6x, 0.9x and 1.2x the channel's median account, so that some
    accounts reach each tier. Steps stay small and far apart: no retroactive cliff."""
    price = {p.id: p.list_price for p in products}

    def median(channels: Sequence[str], period_weeks: int, revenue: bool = False) -> float:
        values = [sum(c * (price[p] if revenue else 1.0) for p, c in carried[a.id].items()) * period_weeks
                  for a in accounts if a.channel in channels]
        return float(np.median(values)) if values else 0.0

    def tiers(level: float, rates: tuple[float, ...]) -> list[dict[str, float]]:
        return [{"from": round(level * f), "rate": r} for f, r in zip((0.6, 0.9, 1.2), rates)]

    quarter = weeks // len(quarters)
    items: list[dict[str, Any]] = []
    if "hypermarket" in live:
        items.append({"id": "rb-hyper-quarterly-volume", "applies_to": {"channel": "hypermarket"}, "period": "quarter",
                      "basis": "volume", "method": "retroactive",
                      "tiers": tiers(median(["hypermarket"], quarter), (0.015, 0.02, 0.025))})
    modern = [c for c in ("hypermarket", "supermarket") if c in live]
    if modern:
        items.append({"id": "rb-modern-annual-volume", "applies_to": {"channel": modern}, "period": "year",
                      "basis": "volume", "method": "retroactive", "cap": 400_000,
                      "tiers": tiers(median(modern, weeks), (0.01, 0.015, 0.02)), "settlement": "paid"})
    if "ecommerce" in live:
        items.append({"id": "rb-ecommerce-annual-revenue", "applies_to": {"channel": "ecommerce"}, "period": "year",
                      "basis": "revenue", "method": "incremental", "cap": 300_000,
                      "tiers": [{"from": 0, "rate": 0.01}, *tiers(median(["ecommerce"], weeks, True),
                                                                   (0.02, 0.025, 0.03))[1:]]})
    if "wholesale" in live:
        items.append({"id": "rb-wholesale-quarterly-volume", "applies_to": {"channel": "wholesale"},
                      "period": "quarter", "basis": "volume", "method": "incremental",
                      "tiers": [{"from": 0, "rate": 0.01}, *tiers(median(["wholesale"], quarter),
                                                                  (0.02, 0.025, 0.03))[1:]]})
    if "convenience" in live:
        items.append({"id": "rb-convenience-quarterly-growth", "applies_to": {"channel": "convenience"},
                      "period": "quarter", "basis": "growth", "method": "incremental", "cap": 60_000,
                      "tiers": [{"from": 0.05, "rate": 0.01}, {"from": 0.12, "rate": 0.02}]})
    if "catering" in live:  # central purchasing of sparkling drinks only: a product-scoped rebate
        items.append({"id": "rb-catering-annual-sparkling", "applies_to": {"channel": "catering",
                                                                           "category": "sparkling"},
                      "period": "year", "basis": "growth", "method": "retroactive",
                      "tiers": [{"from": 0.05, "rate": 0.01}, {"from": 0.15, "rate": 0.02}]})
    return tuple(Rebate.model_validate(item) for item in items)


def _events(rng: np.random.Generator, accounts: tuple[Account, ...], carried: dict[str, dict[str, float]],
            products: tuple[Product, ...], weeks: int) -> tuple[Event, ...]:
    """One event per quarter and account: 1-3 weeks on a brand the account carries, with a mechanic of its channel.
    Each sits inside its quarter with a week free on either side, so runs stay <= 3 weeks, 2 weeks apart."""
    brand_of = {p.id: p.brand for p in products}
    span = weeks // 4
    out = []
    for account in accounts:
        brands = sorted({brand_of[p] for p in carried[account.id]})
        mechanics = [m for m, _, channels in MECHANICS if account.channel in channels]
        for quarter in range(4):
            length = int(rng.integers(1, min(3, max(1, span - 2)) + 1))
            first = quarter * span + 1 + int(rng.integers(1, max(1, span - length - 1) + 1))
            out.append(Event(id=f"ev-{account.id}-q{quarter + 1}", account=account.id,
                             product_group=f"pg-{brands[int(rng.integers(len(brands)))]}",
                             mechanic=mechanics[int(rng.integers(len(mechanics)))],
                             weeks=tuple(range(first, first + length))))
    return tuple(out)


def _shelf_targets(categories: list[str], live: list[str], yearly: float) -> tuple[ShelfTarget, ...]:
    plan = (("hypermarket", "sparkling", 0.62, 8_000), ("hypermarket", "water", 0.25, 5_000),
            ("supermarket", "juice", 0.22, 3_000), ("convenience", "sparkling", 0.58, 2_000))
    return tuple(ShelfTarget(id=f"st-{c}-{cat}", applies_to={"channel": c}, category=cat, share=share,
                             cost_per_point=round(cost * yearly, 2))
                 for c, cat, share, cost in plan if c in live and cat in categories)


def _displays(brands: list[tuple[str, str]], live: list[str], weeks: int, line: float) -> tuple[Display, ...]:
    juice = next((b for b, c in brands if c == "juice"), brands[-1][0])
    plan = (("disp-hyper-summer", "hypermarket", brands[0][0], range(27, 35), 4000.0, 1.08),
            ("disp-hyper-spring-festival", "hypermarket", juice, range(2, 6), 3000.0, 1.2),
            ("disp-super-mid-autumn", "supermarket", juice, range(35, 38), 1500.0, 1.15))
    return tuple(Display(id=name, applies_to={"channel": channel}, products={"brand": brand}, area_m2=6,
                         fee_per_week=round(fee * line, 2), lift=lift, weeks=tuple(sorted({_scaled(w, weeks) for w in span})))
                 for name, channel, brand, span, fee, lift in plan if channel in live)
