"""Actuals in the plan store, per plan year, so that a team shares them (SQLite or PostgreSQL).

An import is one `Store.write()` transaction: every file is checked before it starts, so a bad file imports
nothing; inside it, re-importing replaces (the sell-in of every fiscal week the file holds, the executed
promotions with the same event id) and one audit row per file records what was replaced and the file's sha256.
It is an action like a submission (docs/approval.md): the acting user is the login on a shared store, must hold
the planner role, and signs the audit rows when an admin registered their key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, delete, func, select

from planner.actuals.model import Actuals, ExecutedPromotion, empty_sales, merge_sales
from planner.actuals.read import ActualsFile, PromotionsFile, SalesFile
from planner.store import audit, identity, keys, roles
from planner.store.database import Store
from planner.store.schema import actuals_promotions, actuals_sales

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ACTUALS_IMPORT = "actuals_import"
INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class Imported:
    """What one file did to the store."""

    source: str
    kind: str
    """'sales' or 'promotions'."""
    rows: int
    replaced: int
    """Rows of the store it replaced (same weeks, or same event ids)."""
    weeks: tuple[int, ...]


def import_actuals(store: Store, year: int, files: Sequence[ActualsFile], actor: str | None,
                   key: Ed25519PrivateKey | None = None) -> list[Imported]:
    """Write checked actuals files for plan `year`, replacing what they cover; all of them or none."""
    done: list[Imported] = []
    with store.write() as connection:
        user = identity.acting(connection, actor)
        roles.first_use(connection, user)
        roles.require(connection, user, "planner", "import actuals")
        signer = keys.signer(connection, user, key)
        at = audit.utc_now()
        for item in files:
            result = _sales(connection, year, item, at) if isinstance(item, SalesFile) \
                else _promotions(connection, year, item, at)
            audit.append(connection, user, ACTUALS_IMPORT,
                         {"year": year, "file": item.source, "sha256": item.sha256, "kind": result.kind,
                          "rows": result.rows, "replaced": result.replaced, "weeks": list(result.weeks)}, key=signer)
            done.append(result)
    return done


def _sales(connection: Connection, year: int, item: SalesFile, at: str) -> Imported:
    weeks = item.weeks
    replaced = int(connection.execute(select(func.count()).select_from(actuals_sales).where(
        actuals_sales.c.year == year, actuals_sales.c.week.in_(weeks))).scalar_one())
    connection.execute(delete(actuals_sales).where(actuals_sales.c.year == year, actuals_sales.c.week.in_(weeks)))
    frame = item.sales
    records = [{"year": year, "account": a, "product": p, "week": int(w), "cases": float(c), "invoice_value": float(v),
                "source": item.source, "imported_at": at}
               for a, p, w, c, v in zip(frame["account"], frame["product"], frame["week"], frame["cases"],
                                        frame["invoice_value"], strict=True)]
    for start in range(0, len(records), INSERT_CHUNK):
        connection.execute(actuals_sales.insert(), records[start:start + INSERT_CHUNK])
    return Imported(item.source, "sales", len(records), replaced, tuple(weeks))


def _promotions(connection: Connection, year: int, item: PromotionsFile, at: str) -> Imported:
    events = [p.event for p in item.promotions]
    replaced = int(connection.execute(select(func.count()).select_from(actuals_promotions).where(
        actuals_promotions.c.year == year, actuals_promotions.c.event.in_(events))).scalar_one())
    connection.execute(delete(actuals_promotions).where(actuals_promotions.c.year == year,
                                                        actuals_promotions.c.event.in_(events)))
    connection.execute(actuals_promotions.insert(), [{**p.__dict__, "year": year, "source": item.source,
                                                      "imported_at": at} for p in item.promotions])
    weeks = sorted({w for p in item.promotions for w in p.weeks})
    return Imported(item.source, "promotions", len(events), replaced, tuple(weeks))


def load_actuals(store: Store, year: int) -> Actuals:
    """Everything imported for plan `year` (empty tables when nothing was)."""
    with store.read() as connection:
        rows = connection.execute(select(actuals_sales.c.account, actuals_sales.c.product, actuals_sales.c.week,
                                         actuals_sales.c.cases, actuals_sales.c.invoice_value)
                                  .where(actuals_sales.c.year == year)).all()
        promotions = connection.execute(select(actuals_promotions).where(actuals_promotions.c.year == year)
                                        .order_by(actuals_promotions.c.first_week,
                                                  actuals_promotions.c.event)).all()
    sales = pd.DataFrame([tuple(r) for r in rows], columns=["account", "product", "week", "cases", "invoice_value"]) \
        if rows else empty_sales()
    executed = tuple(ExecutedPromotion(r.event, r.account, r.product_group, r.mechanic, r.first_week, r.last_week,
                                       r.depth, r.funding, r.fixed_cost) for r in promotions)
    return Actuals(year, merge_sales([sales]), executed)


def actuals_from_files(year: int, files: Sequence[ActualsFile]) -> Actuals:
    """The same Actuals straight from checked files, without a store (later files replace earlier ones, as an
    import would)."""
    sales = empty_sales()
    promotions: dict[str, ExecutedPromotion] = {}
    for item in files:
        if isinstance(item, SalesFile):
            sales = merge_sales([sales[~sales["week"].isin(item.weeks)], item.sales])
        else:
            promotions.update({p.event: p for p in item.promotions})
    return Actuals(year, sales, tuple(sorted(promotions.values(), key=lambda p: (p.first_week, p.event))))
