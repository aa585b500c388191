"""Consumer mechanics, calendar rules and promotion events of a synthetic bottler.

Events follow one *slot grammar* that is stricter than every generated calendar rule, so planned and locked
events break none of them and every minimum stays feasible:

* a line (account x product group) may start a run only in slot weeks o, o+6, o+12, ...; a run lasts 1-2 weeks
  (rules: max_consecutive >= 2, min_gap <= 4, forbidden_sequence within <= 4 weeks, first and then disjoint);
* o = (account offset + 3 x group class) mod 6 + 1, so two groups of different classes never share a week at one
  account (product_clash rules only pair groups of different classes); paired groups copy their leader's weeks;
* deep mechanics (effective depth >= 25%) run single weeks at least 12 weeks apart (deep_discount_window rules:
  depth >= 25%, window <= 12, at most 1; counts of deep weeks <= 5 a year);
* at most 4 event weeks a quarter and 12 a year per line (event_count maxima are at least that);
* no event in a week any blackout of the account names; blackouts leave at least 9 free weeks per quarter, so
  minimums of 1-2 event weeks a quarter (or 2-6 a year) are always reachable;
* featured or displayed mechanics are at least 20% deep (feature_min_depth rules ask 15-20%), and funding x
  effective depth <= 10% (synth_terms' price-floor budget).
"""

from __future__ import annotations

from collections import Counter

from benchmarks.synth_master import QUARTERS, START, WEEKS, Obj, World, date_range, pct, quarter_weeks

DEEP = 0.25
CORE_MECHANICS: tuple[Obj, ...] = (
    {"id": "tpr-10", "kind": "price_cut", "depth": "10%", "funding": "80%", "lift": 1.0},
    {"id": "tpr-15", "kind": "price_cut", "depth": "15%", "funding": "60%"},
    {"id": "tpr-20-feature", "kind": "price_cut", "depth": "20%", "feature": True, "lift": 1.25, "funding": "50%",
     "fixed_cost": 3000},
    {"id": "tpr-30-deep", "kind": "price_cut", "depth": "30%", "funding": "30%"},
    {"id": "bogo", "kind": "bogo", "redemption": "60%", "funding": "30%"},
    {"id": "multibuy-3for2", "kind": "multi_buy", "buy": 3, "pay": 2, "redemption": "60%", "funding": "45%"},
    {"id": "spend-100-save-15", "kind": "spend_save", "spend": 100, "save": 15, "redemption": "80%",
     "funding": "70%"},
    {"id": "coupon-20", "kind": "coupon", "depth": "20%", "redemption": "30%", "funding": "100%"},
    {"id": "display-20", "kind": "display", "depth": "20%", "funding": "40%", "lift": 1.15, "fixed_cost": 2000},
    {"id": "tasting", "kind": "tasting", "lift": 1.1, "funding": "0%", "fixed_cost": 1500},
    {"id": "feature-ad-22", "kind": "feature", "depth": "22%", "funding": "40%", "lift": 1.2, "fixed_cost": 2500},
)


def _share(text: object) -> float:
    return float(str(text).rstrip("%")) / 100 if isinstance(text, str) else float(text or 0)  # type: ignore[arg-type]


def effective_depth(m: Obj) -> float:
    """Mirror of Mechanic.effective_depth, on the generator's plain dicts."""
    kind, redemption = m["kind"], _share(m.get("redemption", "100%"))
    if kind in ("price_cut", "coupon"):
        return _share(m.get("depth")) * (redemption if kind == "coupon" else 1.0)
    if kind in ("bogo", "multi_buy"):
        return (1 - float(m.get("pay", 1)) / float(m.get("buy", 2))) * redemption
    if kind == "spend_save":
        return float(m["save"]) / float(m["spend"]) * redemption
    return _share(m.get("depth"))


def _variant(world: World, n: int) -> Obj:
    rng = world.rng
    kind = rng.choice(["price_cut", "price_cut", "price_cut", "bogo", "multi_buy", "spend_save", "coupon",
                       "display", "feature", "tasting"])
    m: Obj = {"kind": kind}
    if kind == "price_cut":
        m["depth"] = pct(rng.choice([0.1, 0.12, 0.15, 0.18, 0.2, 0.25, 0.3, 0.35]))
        m["feature"] = _share(m["depth"]) >= 0.2 and rng.random() < 0.3
    elif kind == "bogo":
        m["redemption"] = pct(rng.choice([0.5, 0.6, 0.7, 0.8]))
    elif kind == "multi_buy":
        m["buy"], m["pay"] = rng.choice([(3, 2), (4, 3)])
        m["redemption"] = pct(rng.choice([0.4, 0.5, 0.6]))
    elif kind == "spend_save":
        m["spend"] = rng.choice([60, 100, 150, 200])
        m["save"] = round(m["spend"] * rng.choice([0.1, 0.15, 0.2]))
        m["redemption"] = pct(rng.choice([0.6, 0.8, 1.0]))
    elif kind == "coupon":
        m["depth"], m["redemption"] = pct(rng.choice([0.1, 0.2, 0.3])), pct(rng.choice([0.2, 0.3, 0.5]))
    elif kind in ("display", "feature"):
        m["depth"] = pct(rng.choice([0.2, 0.22, 0.3]))
        m["fixed_cost"] = rng.randrange(1_000, 6_000, 250)
    else:
        m["fixed_cost"] = rng.randrange(800, 3_000, 100)
    depth = effective_depth(m)
    m["funding"] = pct(min(1.0, int(0.10 / depth * 100) / 100) if depth else 0.0)
    if not m.get("feature"):
        m.pop("feature", None)
    m["lift"] = round(rng.uniform(1.0, 1.4), 2)
    account = world.accounts[rng.randrange(len(world.accounts))]
    roll = rng.random()
    if roll < 0.5:
        m["applies_to"] = {"channel": account["channel"]}
    elif roll < 0.8:
        m["applies_to"] = {"account": account["id"], "brand": rng.choice(world.brands)["id"]}
    else:
        m["applies_to"] = {"channel": account["channel"], "tier": account["tier"]}
    if rng.random() < 0.4:
        quarter = rng.randint(1, len(QUARTERS))
        m["valid"] = date_range(*quarter_weeks(quarter))
    scope = m["applies_to"].get("channel") or m["applies_to"]["account"]
    return {"id": f"{kind.replace('_', '-')}-{scope}-{n}", **m}


def build_mechanics(world: World, count: int) -> list[Obj]:
    mechanics = [dict(m) for m in CORE_MECHANICS[: max(8, count)]]
    while len(mechanics) < count:
        mechanics.append(_variant(world, len(mechanics)))
    for m in mechanics:
        world.add("mechanics", "promotions/mechanics.yaml" if "applies_to" not in m
                  else f"promotions/mechanics-{'accounts' if 'account' in m['applies_to'] else 'channels'}.yaml", m)
    return mechanics


CALENDAR_MIX = (("event_max", 22), ("event_min", 8), ("max_consecutive", 10), ("min_gap", 10), ("deep_window", 8),
                ("blackout", 14), ("forbidden_sequence", 6), ("feature_min_depth", 5), ("display_min_revenue", 5),
                ("product_clash", 6), ("paired_products", 6))


class Calendar:
    """Calendar rules, then events that obey them (see the module docstring for the grammar)."""

    def __init__(self, world: World, mechanics: list[Obj]) -> None:
        self.world, self.rng = world, world.rng
        self.mechanics = mechanics
        self.core = [m for m in mechanics if "applies_to" not in m and "valid" not in m]
        self.reach: dict[str, tuple[set[str], set[str]]] = {}  # mechanic -> (accounts, products) it may run at
        for m in mechanics:
            scope = m.get("applies_to", {})
            self.reach[m["id"]] = ({a["id"] for a in world.accounts_in(scope)},
                                   {p["id"] for p in world.products_in(scope)})
        self.group_products = {g["id"]: {p["id"] for p in world.products_in(g["products"])} for g in world.groups}
        self.blocked: dict[str, set[int]] = {a["id"]: set() for a in world.accounts}
        self.pairs_at: dict[str, dict[str, str]] = {a["id"]: {} for a in world.accounts}  # follower -> leader
        groups = list(world.groups)
        self.rng.shuffle(groups)
        half = len(groups) // 4
        pool = sorted(groups[: max(2, half)], key=lambda g: g["cls"])
        self.pairs = [(a["id"], b["id"]) for a, b in zip(pool[::2], pool[1::2]) if a["cls"] == b["cls"]]
        self.clashes = [(a["id"], b["id"]) for a in groups for b in groups if a["cls"] == 0 and b["cls"] == 1][:200]

    def scope(self) -> Obj:
        account = self.world.accounts[self.rng.randrange(len(self.world.accounts))]
        roll = self.rng.random()
        style = "account" if roll < 0.6 else "channel" if roll < 0.85 else "tier" if roll < 0.95 else "region"
        return self.world.account_scope(account, style)

    def groups_for(self, scope: Obj) -> Obj:
        if self.rng.random() < 0.4:
            return {}
        picked = self.rng.sample(self.world.groups, min(len(self.world.groups), self.rng.randint(1, 3)))
        return {"product_groups": [g["id"] for g in picked]}

    def rules(self, count: int) -> None:
        total = sum(weight for _, weight in CALENDAR_MIX)
        plan = [kind for kind, weight in CALENDAR_MIX for _ in range(max(1, round(count * weight / total)))]
        self.rng.shuffle(plan)
        for n, kind in enumerate(plan[:count]):
            rule = getattr(self, f"_{kind}")(n)
            if rule is not None:
                file = "calendar/blackouts.yaml" if rule["kind"] == "blackout" else "calendar/calendar-rules.yaml"
                self.world.add("calendar_rules", file, rule)

    def _event_max(self, n: int) -> Obj:
        scope, rng = self.scope(), self.rng
        rule: Obj = {"id": f"cap-events-{n}", "kind": "event_count", "applies_to": scope, **self.groups_for(scope)}
        if rng.random() < 0.25:
            deep = [m["id"] for m in self.mechanics if effective_depth(m) >= DEEP][:4]
            rule.update(mechanics=deep, period="year", max=rng.choice([5, 6]))
        elif rng.random() < 0.5:
            rule.update(period="quarter", max=rng.choice([4, 5, 6]))
        else:
            rule.update(period="year", max=rng.choice([12, 14, 16, 20]))
        return rule

    def _event_min(self, n: int) -> Obj:
        scope, rng = self.scope(), self.rng
        if "account" not in scope:  # minimums name core lines, as contracts do: the two lead brands channel-wide
            groups: Obj = {"product_groups": [g["id"] for g in self.world.groups[:2]]}
        else:
            picked = self.rng.sample(self.world.groups, min(len(self.world.groups), self.rng.randint(1, 3)))
            groups = {"product_groups": [g["id"] for g in picked]}
        rule: Obj = {"id": f"min-events-{n}", "kind": "event_count", "applies_to": scope, **groups}
        if rng.random() < 0.5:
            rule.update(period="quarter", min=rng.choice([1, 2]), max=rng.choice([4, 6]))
        else:
            rule.update(period="year", min=rng.choice([2, 4, 6]))
        if rng.random() < 0.2:
            rule["mechanics"] = ["tpr-15", "tpr-20-feature", "tpr-10"]
        return rule

    def _max_consecutive(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"max-run-{n}", "kind": "max_consecutive", "applies_to": scope, **self.groups_for(scope),
                "weeks": self.rng.choice([2, 3, 4])}

    def _min_gap(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"gap-{n}", "kind": "min_gap", "applies_to": scope, **self.groups_for(scope),
                "weeks": self.rng.choice([1, 2, 3, 4])}

    def _deep_window(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"deep-window-{n}", "kind": "deep_discount_window", "applies_to": scope,
                **self.groups_for(scope), "min_depth": pct(self.rng.choice([0.25, 0.3])),
                "window_weeks": self.rng.choice([8, 10, 12]), "at_most": 1}

    def _blackout(self, n: int) -> Obj | None:
        rng = self.rng
        for _ in range(20):
            scope = self.scope()
            first = rng.randint(1, WEEKS - 2)
            weeks = list(range(first, first + rng.randint(1, 3)))
            affected = self.world.accounts_in(scope)
            if all(self._quarter_load(self.blocked[a["id"]] | set(weeks)) <= 4 for a in affected):
                for account in affected:
                    self.blocked[account["id"]].update(weeks)
                rule: Obj = {"id": f"blackout-{n}", "kind": "blackout", "applies_to": scope, "weeks": weeks}
                if rng.random() < 0.3:
                    rule["mechanics"] = ["bogo", "tpr-30-deep"]
                return rule
        return None

    @staticmethod
    def _quarter_load(weeks: set[int]) -> int:
        return max(sum(1 for w in weeks if quarter_weeks(q)[0] <= w <= quarter_weeks(q)[1])
                   for q in range(1, len(QUARTERS) + 1))

    def _forbidden_sequence(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"no-cut-after-bogo-{n}", "kind": "forbidden_sequence", "applies_to": scope,
                "first": ["bogo"], "then": self.rng.sample(["tpr-10", "tpr-15", "tpr-20-feature"], 2),
                "within_weeks": self.rng.choice([2, 3, 4])}

    def _feature_min_depth(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"feature-depth-{n}", "kind": "feature_min_depth", "applies_to": scope,
                "min_depth": pct(self.rng.choice([0.15, 0.2]))}

    def _display_min_revenue(self, n: int) -> Obj:
        scope = self.scope()
        return {"id": f"display-revenue-{n}", "kind": "display_min_revenue", "applies_to": scope,
                "min_revenue": self.rng.randrange(5_000, 20_000, 500)}

    def _product_clash(self, n: int) -> Obj | None:
        if not self.clashes:
            return None
        first, second = self.rng.choice(self.clashes)
        return {"id": f"clash-{n}", "kind": "product_clash", "applies_to": self.scope(), "groups": [first, second]}

    def _paired_products(self, n: int) -> Obj | None:
        if not self.pairs:
            return None
        leader, follower = self.rng.choice(self.pairs)
        scope = self.scope()
        for account in self.world.accounts_in(scope):
            self.pairs_at[account["id"]][follower] = leader
        return {"id": f"pair-{n}", "kind": "paired_products", "applies_to": scope, "groups": [leader, follower]}

    def events(self, count: int) -> None:
        """Lines round-robin over accounts (each account plans its carried groups in random order), 2-5 runs
        per line, until `count` events exist."""
        world, rng = self.world, self.rng
        queue: dict[str, list[Obj]] = {}
        for account in world.accounts:
            carried = set(world.assortment[account["id"]])
            groups = [g for g in world.groups if g["id"] not in self.pairs_at[account["id"]]
                      and not carried.isdisjoint(self.group_products[g["id"]])]
            rng.shuffle(groups)
            queue[account["id"]] = groups
        made = 0
        while made < count and any(queue.values()):
            for n, account in enumerate(world.accounts):
                if made >= count:
                    return
                if queue[account["id"]]:
                    made += self._line(account, n % 6, queue[account["id"]].pop(), count - made)

    def _line(self, account: Obj, offset: int, group: Obj, room: int) -> int:
        rng, aid = self.rng, account["id"]
        followers = [f for f, leader in self.pairs_at[aid].items() if leader == group["id"]]
        allowed = self.core if followers else [m for m in self.mechanics if self._allowed(m, account, group)]
        start = (offset + 3 * group["cls"]) % 6 + 1
        slots = sorted(rng.sample(range(start, WEEKS + 1, 6), rng.randint(2, 5)))
        per_quarter: Counter[int] = Counter()
        runs: list[tuple[list[int], Obj]] = []
        last_deep, deep_count = -100, 0
        for slot in slots:
            choices = [m for m in allowed if self._covers(m, slot)]
            if slot in self.blocked[aid] or not choices:
                continue
            mechanic = rng.choice(choices)
            deep = effective_depth(mechanic) >= DEEP
            if deep and (slot - last_deep < 12 or deep_count >= 5):
                shallow = [m for m in choices if effective_depth(m) < DEEP]
                if not shallow:
                    continue
                mechanic, deep = rng.choice(shallow), False
            two = not deep and slot < WEEKS and slot + 1 not in self.blocked[aid] and self._covers(mechanic, slot + 1)
            weeks = [slot, slot + 1] if two and rng.random() < 0.6 else [slot]
            quarters = Counter(self._quarter(w) for w in weeks)
            if any(per_quarter[q] + c > 4 for q, c in quarters.items()) or sum(per_quarter.values()) + len(weeks) > 12:
                continue
            per_quarter.update(quarters)
            if deep:
                last_deep, deep_count = slot, deep_count + 1
            runs.append((weeks, mechanic))
        made = 0
        for weeks, mechanic in runs:
            lines = [group["id"]] + followers  # a paired follower copies its leader's event, lock included
            if made + len(lines) > room:
                break
            locked = rng.random() < 0.15
            for line_group in lines:
                event: Obj = {"id": f"ev-{aid}-{line_group[4:]}-w{weeks[0]:02d}", "account": aid,
                              "product_group": line_group, "mechanic": mechanic["id"], "weeks": weeks}
                if locked:
                    event["locked"] = True
                self.world.add("events", f"promotions/events-{account['channel']}.yaml", event)
                made += 1
        return made

    @staticmethod
    def _quarter(week: int) -> int:
        return next(q for q in range(1, len(QUARTERS) + 1) if week <= quarter_weeks(q)[1])

    def _allowed(self, mechanic: Obj, account: Obj, group: Obj) -> bool:
        accounts, products = self.reach[mechanic["id"]]
        return account["id"] in accounts and not products.isdisjoint(self.group_products[group["id"]])

    @staticmethod
    def _covers(mechanic: Obj, week: int) -> bool:
        valid = mechanic.get("valid")
        if not valid:
            return True
        first = (valid["from"] - START).days // 7 + 1
        last = (valid["to"] - START).days // 7 + 1
        return bool(first <= week <= last)
