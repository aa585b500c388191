"""The robust cases (planner.calibrate.robust): Huber's cap on the Pearson residual with its Fisher-consistency
correction, and what it does to a fit of a history with spikes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from planner.calibrate.fit import Fit, Settings, fit
from planner.calibrate.robust import HUBER_C, expected_loss, robust_cases
from planner.calibrate.synthetic import world


@pytest.mark.parametrize("c", [0.0, 1.0, HUBER_C, 3.0])
def test_expected_loss_is_the_normal_tail_integral(c: float) -> None:
    tail, _ = integrate.quad(lambda z: (z - c) * stats.norm.pdf(z), c, math.inf)
    assert expected_loss(c) == pytest.approx(tail, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(("mean", "dispersion"), [(400.0, 1.0), (300.0, 3.0)])
def test_where_the_model_holds_the_robust_cases_keep_the_mean(mean: float, dispersion: float) -> None:
    """Poisson (dispersion 1) and negative-binomial cases with variance dispersion x mean: the cap takes about
    0.41 % of the mean at dispersion 3; the correction gives it back."""
    rng = np.random.default_rng(0)
    size = mean / (dispersion - 1.0) if dispersion > 1 else None
    cases = (rng.poisson(mean, 400_000) if size is None
             else rng.negative_binomial(size, size / (size + mean), 400_000)).astype(float)
    fitted = np.full(len(cases), mean)
    robust = robust_cases(cases, fitted, dispersion)
    assert robust.mean() == pytest.approx(cases.mean(), rel=1.5e-3)
    assert np.minimum(cases, mean + HUBER_C * math.sqrt(dispersion * mean)).mean() < cases.mean() * (
        1 - 2e-3 if dispersion > 1 else 1 - 1e-3)  # without the correction the mean falls


def test_a_spike_counts_at_most_c_standard_deviations_above_its_mean() -> None:
    robust = robust_cases(np.array([100.0, 1000.0, 0.0]), np.array([100.0, 100.0, 100.0]), 4.0)
    scale, loss = 20.0, expected_loss(HUBER_C) * 20.0
    assert robust.tolist() == pytest.approx([100.0 + loss, 100.0 + HUBER_C * scale + loss, loss])


def test_spikes_move_the_robust_fit_far_less_than_the_raw_one() -> None:
    """A world drawn from the form, then 2 % of its unpromoted weeks sold 6 times over (bulk buyers, stock-ups;
    7 % more cases in all). Against the fit of the clean world, the raw fit's baselines rise 10 %, its lifts
    fall 3-4 % and its elasticity moves 7 %; the robust fit's move about half as much, its elasticity hardly."""
    synthetic = world(31, accounts=6, products=4, weeks=104, overdispersion=0.05)
    clean = synthetic.frame
    rng = np.random.default_rng(5)
    spiked = clean.copy()
    spike = (~spiked["promoted"].to_numpy(dtype=bool)) & (rng.random(len(spiked)) < 0.02)
    spiked.loc[spike, "cases"] = spiked.loc[spike, "cases"] * 6
    reference = fit(clean)
    robust = fit(spiked)
    raw = fit(spiked, settings=Settings(huber_c=math.inf))

    def baseline_change(found: Fit) -> float:
        return float(found.baseline.sum() / reference.baseline.sum() - 1.0)

    def lift_change(found: Fit) -> float:
        return float(np.mean([abs(np.nanmean(found.lifts[k] / reference.lifts[k]) - 1.0) for k in reference.lifts]))

    def elasticity_change(found: Fit) -> float:
        return abs(float(np.nanmean(found.elasticity / reference.elasticity)) - 1.0)

    assert baseline_change(raw) > 0.08
    assert 0 < baseline_change(robust) < 0.6 * baseline_change(raw)
    assert lift_change(robust) < 0.6 * lift_change(raw)
    assert elasticity_change(robust) < 0.5 * elasticity_change(raw)
