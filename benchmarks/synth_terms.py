"""Pricing terms and rebates of a synthetic bottler, consistent by construction.

Why the generated set has no price-floor or COGS breach: every term kind lives in a *layer*, and each layer puts
at most one rule on any account x product x week (contract discounts take one (brand, quarter) or one product
slot per account, rebates one slot per kind, best_of groups one per channel x quarter). So the worst legal stack
is bounded whatever the rule count:

    band factor   >= 0.99 x 0.985 x 0.99                      (position, volume, partnership bands)
    discounts     <= 3% + 1% + 1% + 3% best_of + 1.5% + 1% stop (percent) and 2% of list + 0.5 CNY (per case);
                  an exclusive deal (<= 8%) replaces all of them where it is live
    rebates       <= 2% + 1% + 1.5% + 1% + 0.75%              (annual, quarterly, growth, brand, channel)
    mechanics     funding x effective depth <= 10% of a shelf price <= 1.35 x band price (synth_calendar)

which leaves dead-net >= about 0.63 x list, above COGS (<= 56% of list) x 1.08 = 0.605 x list (the highest floor).
Retroactive tiers step by 0.5 points per 20% of volume, far below the gross profit of the step units.
"""

from __future__ import annotations

from benchmarks.synth_master import QUARTERS, WEEKS, Obj, World, date_range, pct, quarter_weeks


def _window(world: World, first: int, last: int, shortest: int) -> tuple[int, int]:
    start = world.rng.randint(first, last - shortest + 1)
    return start, world.rng.randint(start + shortest - 1, last)


def build_price_bands(world: World, count: int) -> None:
    rng, items = world.rng, list[Obj]()
    for channel in world.live_channels():
        items.append({"id": f"band-position-{channel}", "applies_to": {"channel": channel}, "basis": "market_position",
                      "positions": {"leader": "-1%", "challenger": "0%", "follower": "1%"}})
    for channel in world.live_channels():
        volumes = sorted(a["last_year_volume"] for a in world.accounts if a["channel"] == channel)
        middle = volumes[len(volumes) // 2]
        for category in world.categories:
            items.append({"id": f"band-volume-{channel}-{category}", "applies_to": {"channel": channel,
                          "category": category}, "basis": "last_year_volume", "tiers": [
                {"from": 0, "adjustment": "0%"}, {"from": round(middle * 0.8, -2), "adjustment": "-0.5%"},
                {"from": round(middle * 1.2, -2), "adjustment": pct(-rng.choice([0.01, 0.015]))}]})
            items.append({"id": f"band-partner-{channel}-{category}", "applies_to": {"channel": channel,
                          "category": category}, "basis": "partnership_years", "tiers": [
                {"from": 0, "adjustment": "0%"}, {"from": 5, "adjustment": "-0.3%"},
                {"from": rng.choice([10, 12, 15]), "adjustment": "-0.6%"}, {"from": 20, "adjustment": "-1%"}]})
    for item in items[:count]:
        world.add("price_bands", "pricing/price-bands.yaml", item)


def build_discounts(world: World, count: int) -> None:
    rng, accounts = world.rng, world.accounts
    channels = world.live_channels()
    general = "pricing/discounts-general.yaml"
    broad: list[Obj] = [{"id": f"base-{c}", "applies_to": {"channel": c}, "percent": pct(rng.choice([0.02, 0.025, 0.03])),
                         "priority": 10} for c in channels]
    broad += [{"id": f"tier-{c}-{t}", "applies_to": {"channel": c, "tier": t}, "percent": pct({"A": 0.01, "B": 0.005,
               "C": 0.0025}[t]), "priority": 15} for c in channels for t in "ABC"
              if world.accounts_in({"channel": c, "tier": t})]
    broad += [{"id": f"logistics-{c}", "applies_to": {"channel": c}, "per_case": rng.choice([0.3, 0.4, 0.5]),
               "priority": 90, "name": "DC delivery allowance"} for c in channels]
    broad += [{"id": f"region-{r}-{k}", "applies_to": {"region": r, "category": k}, "percent": pct(rng.choice(
              [0.005, 0.0075, 0.01])), "priority": 20} for r in world.regions for k in world.categories
              if world.accounts_in({"region": r})]
    for item in broad[: max(1, count // 12)]:
        world.add("discounts", general, item)
    exclusive_accounts = rng.sample(accounts, min(len(accounts), max(1, count // 100)))
    for n, account in enumerate(exclusive_accounts):
        brand = rng.choice(world.brands)["id"]
        first, last = _window(world, 1, WEEKS, 3)
        world.add("discounts", f"pricing/discounts-{account['channel']}.yaml", {
            "id": f"launch-{account['id']}-{brand}", "name": "exclusive launch deal",
            "applies_to": {"account": account["id"], "brand": brand}, "percent": pct(rng.choice([0.05, 0.06, 0.08])),
            "valid": date_range(first, min(last, first + 5)), "stacking": "exclusive", "priority": 30})
    stop_pool = [a for a in accounts if a not in exclusive_accounts] or accounts
    for account in rng.sample(stop_pool, min(len(stop_pool), max(1, count // 100))):
        category = rng.choice(world.categories)
        first, last = _window(world, 1, WEEKS, 4)
        world.add("discounts", f"pricing/discounts-{account['channel']}.yaml", {
            "id": f"clearance-{account['id']}-{category}", "name": "clearance: no further allowances",
            "applies_to": {"account": account["id"], "category": category}, "percent": "1%",
            "valid": date_range(first, last), "stop": True, "priority": 60})
    best_of = count * 12 // 100
    slots = [(c, q) for q in range(1, len(QUARTERS) + 1) for c in channels]
    for n in range(best_of):
        channel, quarter = slots[n % len(slots)]
        brand = rng.choice(world.brands)["id"]
        first, last = _window(world, *quarter_weeks(quarter), 3)
        world.add("discounts", f"pricing/discounts-{channel}.yaml", {
            "id": f"season-{channel}-q{quarter}-{brand}-{n}", "applies_to": {"channel": channel, "brand": brand},
            "percent": pct(rng.choice([0.01, 0.015, 0.02, 0.025, 0.03])), "valid": date_range(first, last),
            "stacking": "best_of", "group": f"season-{channel}-q{quarter}", "priority": 40})
    _contract_discounts(world, count - world.count("discounts"))


def _contract_discounts(world: World, count: int) -> None:
    """Account contract terms: a percentage per (brand, quarter) slot, a per-case amount per product slot, and
    lump-sum listing fees. One rule per slot keeps the stack bounded."""
    rng, taken = world.rng, set[tuple[str, ...]]()
    order = list(world.accounts)
    rng.shuffle(order)
    made, attempts = 0, 0
    while made < count and attempts < count * 20:
        account = order[attempts % len(order)]
        attempts += 1
        file, aid = f"pricing/discounts-{account['channel']}.yaml", account["id"]
        roll = rng.random()
        if roll < 0.1:
            item: Obj = {"id": f"listing-{aid}-{made}", "name": "listing allowance", "applies_to": {"account": aid},
                         "fixed": rng.randrange(5_000, 60_000, 1_000), "priority": 100}
        elif roll < 0.6:
            brand, quarter = rng.choice(world.brands)["id"], rng.randint(1, len(QUARTERS))
            if (aid, brand, str(quarter)) in taken:
                continue
            taken.add((aid, brand, str(quarter)))
            item = {"id": f"contract-{aid}-{brand}-q{quarter}", "applies_to": {"account": aid, "brand": brand},
                    "percent": pct(rng.choice([0.005, 0.01, 0.015])), "valid": date_range(*quarter_weeks(quarter)),
                    "priority": 50 + quarter}
        else:
            chosen = rng.choice(world.assortment[aid])
            product = next(p for p in world.products if p["id"] == chosen)
            if (aid, product["id"]) in taken:
                continue
            taken.add((aid, product["id"]))
            item = {"id": f"case-{aid}-{product['id']}", "applies_to": {"account": aid, "product": product["id"]},
                    "per_case": round(product["list_price"] * rng.uniform(0.005, 0.02), 1), "priority": 55}
        world.add("discounts", file, item)
        made += 1


def _tiers(thresholds: list[float] | list[str], rates: list[float], incremental: bool) -> list[Obj]:
    tiers: list[Obj] = []
    for k, (start, rate) in enumerate(zip(thresholds, rates)):
        tier: Obj = {"from": start, "rate": pct(rate)}
        if incremental and k + 1 < len(thresholds):
            tier["to"] = thresholds[k + 1]
        tiers.append(tier)
    return tiers


def build_rebates(world: World, count: int) -> None:
    rng, made = world.rng, 0
    for channel in world.live_channels():
        if made >= count:
            return
        volumes = [a["last_year_volume"] for a in world.accounts if a["channel"] == channel]
        base = round(min(volumes) / 4, -2)
        world.add("rebates", "rebates/rebates-channel.yaml", {
            "id": f"channel-quarterly-{channel}", "applies_to": {"channel": channel}, "period": "quarter",
            "basis": "volume", "method": "incremental", "tiers": _tiers([base, base * 1.5], [0.005, 0.0075], True)})
        made += 1
    kinds = ["annual", "quarterly", "growth", "brand", "brand"]
    taken: set[tuple[str, str]] = set()
    attempts = 0
    while made < count and attempts < count * 20:
        account = world.accounts[attempts % len(world.accounts)]
        kind = kinds[(attempts // len(world.accounts)) % len(kinds)]
        attempts += 1
        aid, volume = account["id"], account["last_year_volume"]
        retro = rng.random() < 0.5
        method = "retroactive" if retro else "incremental"
        item: Obj = {"id": f"{kind}-{aid}", "applies_to": {"account": aid}}
        if kind == "annual":
            steps = [round(volume * f, -2) for f in (0.8, 1.0, 1.2)]
            item.update(period="year", basis="volume", method=method, tiers=_tiers(steps, [0.01, 0.015, 0.02], not retro),
                        cap=round(volume * 1.5, -3), settlement=rng.choice(["paid", "accrued"]))
        elif kind == "quarterly":
            revenue = volume / 4 * 55
            steps = [round(revenue * f, -3) for f in (0.85, 1.0, 1.15)]
            item.update(period="quarter", basis="revenue", method=method, tiers=_tiers(steps, [0.004, 0.007, 0.01],
                        not retro))
        elif kind == "growth":
            item.update(period="year", basis="growth", method=method,
                        tiers=_tiers(["5%", "15%", "25%"], [0.005, 0.01, 0.015], False))
        else:
            brand = rng.choice(world.brands)["id"]
            if (aid, brand) in taken:
                continue
            taken.add((aid, brand))
            share = volume / max(1, len(world.brands)) * 60
            item["id"] = f"brand-{aid}-{brand}"
            item["applies_to"] = {"account": aid, "brand": brand}
            item.update(period="year", basis="revenue", method="incremental",
                        tiers=_tiers([round(share * 0.9, -3), round(share * 1.1, -3)], [0.005, 0.01], True))
        if (aid, item["id"]) in taken:
            continue
        taken.add((aid, item["id"]))
        world.add("rebates", f"rebates/rebates-{account['channel']}.yaml", item)
        made += 1
