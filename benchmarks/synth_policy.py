"""Vividness (shelf targets, displays, coolers) and policy (floors, caps, budgets) of a synthetic bottler.

Consistency by construction: shelf targets are either per channel (categories not negotiated per account) or
per account (at most two brand targets per account and category, 85% at most together), so no account and
category sums over 100%; per-account budget minimums are a fifth of the account's yearly allowance, every total
and regional budget is at least twice the minimums it contains, and every per-account maximum is above every
minimum of the accounts it covers.
"""

from __future__ import annotations

from benchmarks.synth_master import QUARTERS, WEEKS, Obj, World, pct


def build_vividness(world: World, shelf_targets: int, displays: int, coolers: int) -> None:
    _shelf_targets(world, shelf_targets)
    rng = world.rng
    for n in range(displays):
        account = world.accounts[n % len(world.accounts)]
        brand = rng.choice([b for b in world.brands if world.products_in({"brand": b["id"]})])["id"]
        style = "account" if rng.random() < 0.85 else "tier"
        first = rng.randint(1, WEEKS - 8)
        weeks = list(range(first, first + rng.randint(2, 8))) if rng.random() < 0.7 else []
        item: Obj = {"id": f"display-{account['id']}-{n}", "applies_to": world.account_scope(account, style),
                     "products": {"brand": brand}, "area_m2": rng.choice([2, 4, 6, 8, 12, 20]),
                     "fee_per_week": rng.randrange(200, 3_000, 50), "lift": round(rng.uniform(1.02, 1.15), 2)}
        if weeks:
            item["weeks"] = weeks
        world.add("displays", "vividness/displays.yaml", item)
    chilled = [c for c in ("sparkling", "water", "energy", "tea") if c in world.categories]
    for n in range(coolers):
        account = world.accounts[(n * 7) % len(world.accounts)]
        world.add("coolers", "vividness/coolers.yaml", {
            "id": f"cooler-{account['id']}-{n}", "applies_to": {"account": account["id"]},
            "products": {"category": rng.choice(chilled)}, "units": rng.randint(2, 120),
            "cost_per_unit": rng.randrange(800, 1_600, 50), "cases_per_unit_week": round(rng.uniform(0.8, 4.0), 1)})


def _shelf_targets(world: World, count: int) -> None:
    rng = world.rng
    negotiated = world.categories[:2]  # per account; the other categories get one target per channel
    candidates: list[Obj] = []
    for channel in world.live_channels():
        for category in world.categories[2:]:
            candidates.append({"id": f"shelf-{channel}-{category}", "applies_to": {"channel": channel},
                               "category": category, "share": pct(rng.choice([0.25, 0.3, 0.4, 0.5])),
                               "cost_per_point": rng.randrange(200, 2_000, 100)})
    for account in world.accounts:
        for category in negotiated:
            brands = [b["id"] for b in world.brands if b["category"] == category]
            split = rng.sample(brands, min(len(brands), rng.choice([1, 2])))
            remaining = 0.85
            for brand in split:
                share = round(rng.uniform(0.15, remaining / len(split)), 2)
                remaining -= share
                candidates.append({"id": f"shelf-{account['id']}-{brand}", "applies_to": {"account": account["id"]},
                                   "category": category, "brand": brand, "share": pct(share),
                                   "cost_per_point": rng.randrange(500, 5_000, 100)})
    channel_first = len(world.live_channels()) * len(world.categories[2:])
    chosen = candidates[:channel_first]
    rest = candidates[channel_first:]
    rng.shuffle(rest)
    for item in (chosen + rest)[:count]:
        world.add("shelf_targets", "vividness/shelf-targets.yaml", item)


def build_policy(world: World, floors: int, budgets: int) -> None:
    """`floors` objects split over price floors, margin floors and trade-spend caps; then `budgets` budgets."""
    rng = world.rng
    price: list[Obj] = [{"id": "floor-cogs-3", "min_markup": "3%"}]
    price += [{"id": f"floor-{c}", "applies_to": {"channel": c}, "min_markup": pct(rng.choice([0.05, 0.06, 0.08]))}
              for c in world.live_channels()]
    price += [{"id": f"floor-{k}", "applies_to": {"category": k}, "min_markup": "5%"} for k in world.categories]
    margin: list[Obj] = [{"id": "margin-total", "per": "total", "min_gross_margin": "24%"}]
    margin += [{"id": f"margin-{c}", "applies_to": {"channel": c}, "per": "channel",
                "min_gross_margin": pct(rng.choice([0.18, 0.2, 0.22]))} for c in world.live_channels()]
    caps: list[Obj] = [{"id": "spend-cap-total", "max_share": "22%"}]
    caps += [{"id": f"spend-cap-{c}", "applies_to": {"channel": c}, "per": "channel",
              "max_share": pct(rng.choice([0.18, 0.2, 0.25]))} for c in world.live_channels()]
    for account in world.accounts:
        aid = account["id"]
        price.append({"id": f"floor-{aid}", "applies_to": {"account": aid, "brand": rng.choice(world.brands)["id"]},
                      "min_markup": pct(rng.choice([0.04, 0.06, 0.08]))})
        margin.append({"id": f"margin-{aid}", "applies_to": {"account": aid}, "min_gross_margin": pct(
            rng.choice([0.2, 0.22, 0.25]))})
        caps.append({"id": f"spend-cap-{aid}", "applies_to": {"account": aid}, "per": "account",
                     "max_share": pct(rng.choice([0.15, 0.18, 0.2, 0.24]))})
    each = floors // 3
    for section, items, file in (("price_floors", price, "policy/price-floors.yaml"),
                                 ("margin_floors", margin, "policy/margin-floors.yaml"),
                                 ("trade_spend_caps", caps, "policy/trade-spend-caps.yaml")):
        for item in items[: max(1, each + (floors - 3 * each if section == "price_floors" else 0))]:
            world.add(section, file, item)
    _budgets(world, budgets)


def _budgets(world: World, count: int) -> None:
    rng = world.rng
    allowance = {a["id"]: a["last_year_volume"] * 1.5 for a in world.accounts}  # CNY of promotion funding a year
    per_account = world.accounts[: max(0, count - 8 - len(world.regions) - len(world.brands))]
    minimum = {a["id"]: round(allowance[a["id"]] * 0.2, -3) for a in per_account}
    year_total = round(2.5 * sum(allowance.values()), -4)
    items: list[Obj] = [{"id": "budget-2027", "max": year_total}]
    items += [{"id": f"budget-q{q}", "period": f"Q{q}", "max": round(year_total / len(QUARTERS) * 1.1, -4)}
              for q in range(1, len(QUARTERS) + 1)]
    for region in world.regions:
        inside = [a["id"] for a in world.accounts if a["region"] == region]
        if inside:
            items.append({"id": f"budget-{region}", "applies_to": {"region": region}, "max": round(
                max(2 * sum(minimum.get(a, 0) for a in inside), 1.2 * sum(allowance[a] for a in inside)), -3)})
    for brand in world.brands:
        items.append({"id": f"pool-{brand['id']}", "applies_to": {"brand": brand["id"]},
                      "max": round(year_total / len(world.brands) * rng.uniform(0.6, 1.4), -4)})
    for channel in world.live_channels():
        top = max(allowance[a["id"]] for a in world.accounts if a["channel"] == channel)
        items.append({"id": f"cap-per-{channel}-account", "applies_to": {"channel": channel}, "per": "account",
                      "max": round(top * 1.2, -3)})
    for account in per_account:
        aid = account["id"]
        items.append({"id": f"budget-{aid}", "applies_to": {"account": aid}, "per": "account",
                      "min": minimum[aid], "max": round(allowance[aid] * 0.9, -3)})
    for quarter in range(1, len(QUARTERS) + 1):  # then quarterly ceilings per account, as many as asked for
        for account in world.accounts[: max(0, count - len(items))]:
            aid = account["id"]
            items.append({"id": f"budget-{aid}-q{quarter}", "applies_to": {"account": aid}, "per": "account",
                          "period": f"Q{quarter}", "max": round(allowance[aid] * 0.4, -3)})
    for item in items[:count]:
        world.add("budgets", "policy/budgets.yaml", item)
