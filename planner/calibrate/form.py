"""The economics core's demand form (docs/economics.md section 5) on a panel's series x week arrays.

    E     = baseline x season weight                                    expected base at the regular price
    Q0    = E x ratio ** elasticity          unpromoted cells;  Q0 = E  on promoted cells (S = S0 = regular)
    Qpre  = E x ratio ** elasticity x lift   promoted cells;    Qpre = Q0 elsewhere
    incr  = Qpre - Q0                        on promoted cells
    dip   = sum_{k=1..K} dip_share x max(incr[t - k], 0) / K                 same series
    cann  = sum_{p promoted, p != q} kappa_p x max(incr_p, 0) x Q0_q / (T - Q0_p)   same account, category, week
    Q     = max(Qpre - dip - cann, 0)

ratio = price / regular price, lift = product of the feature, display and deal lifts present (flag ** lift).
Unobserved cells take part as unpromoted cells at the regular price, as the simulator's empty cells do; the dip
of a promotion before the first week is not booked, as in the simulator. `planner.economics.response` computes
the same terms sparsely for a whole plan; this dense version serves the fit, whose promoted cells are many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.calibrate.panel import FloatArray, IntArray, Panel


@dataclass(frozen=True)
class Volumes:
    """The form's terms on every cell of a panel (S, W)."""

    final: FloatArray
    before: FloatArray
    """Qpre: before the dip and cannibalization."""
    dip: FloatArray
    cannibalization: FloatArray


def log_lift(panel: Panel, lift: FloatArray) -> FloatArray:
    """(S, W) log of the lift of each cell: sum over kinds of flag x log(lift of the kind), lift (K, S)."""
    return np.asarray(np.einsum("ksw,ks->sw", panel.flags, np.log(lift)), dtype=np.float64)


def volumes(panel: Panel, expected_base: FloatArray, elasticity: FloatArray, lift: FloatArray,
            dip_share: FloatArray, dip_weeks: int, cannibalization: FloatArray,
            promotion: FloatArray | None = None) -> Volumes:
    """The form on a panel: expected_base (S, W), elasticity (S,), lift (K, S), dip_share and cannibalization
    (S,) shares; `promotion` (S,): a factor on the lift of the promoted cells that ran a flag (the recent
    promotion factor, planner.calibrate.promotion; the written lift of a mechanic with flags carries it)."""
    price = np.exp(elasticity[:, None] * panel.log_ratio)
    promoted = panel.promoted
    unpromoted = expected_base * price
    plain = np.where(promoted, expected_base, unpromoted)  # Q0
    log_lifts = log_lift(panel, lift)
    if promotion is not None:
        log_lifts = log_lifts + np.where(panel.flags.sum(axis=0) > 0, np.log(promotion)[:, None], 0.0)
    before = np.where(promoted, unpromoted * np.exp(log_lifts), plain)
    gain = np.where(promoted, np.maximum(before - plain, 0.0), 0.0)
    dip = dip_amount(gain, dip_share, dip_weeks)
    cann = cannibalized(gain, plain, cannibalization, panel.account_local)
    return Volumes(np.maximum(before - dip - cann, 0.0), before, dip, cann)


def dip_amount(gain: FloatArray, dip_share: FloatArray, dip_weeks: int) -> FloatArray:
    """(S, W) volume lost in each week to the promotions of the dip_weeks weeks before it."""
    dip = np.zeros_like(gain)
    weeks = gain.shape[1]
    if dip_weeks <= 0 or not dip_share.any():
        return dip
    spread = gain * (dip_share / dip_weeks)[:, None]
    for k in range(1, min(dip_weeks, weeks - 1) + 1):
        dip[:, k:] += spread[:, :-k]
    return dip


def cannibalized(gain: FloatArray, plain: FloatArray, share: FloatArray, group: IntArray) -> FloatArray:
    """(S, W) volume each series loses to its promoted siblings (same group = account, same week), in proportion
    to its Q0 among the siblings' Q0 (the promoted product's own excluded)."""
    if not share.any():
        return np.zeros_like(gain)
    groups = int(group.max()) + 1
    total = _group_sum(plain, group, groups)[group]  # T per series' account and week
    taken = gain * share[:, None]
    others = total - plain
    per_donor = np.divide(taken, others, out=np.zeros_like(taken), where=others > 1e-12)
    offered = _group_sum(per_donor, group, groups)[group] - per_donor  # nothing taken from itself
    return np.asarray(offered * plain, dtype=np.float64)


def _group_sum(values: FloatArray, group: IntArray, groups: int) -> FloatArray:
    """(groups, W) sums of the rows of each group."""
    out = np.zeros((groups, values.shape[1]))
    np.add.at(out, group, values)
    return out
