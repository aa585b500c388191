"""Robust cases: a week that sold far above the fit's own mean counts at a cap, so one spike does not move a
category's response or a series' level.

A store x product week now and then sells many times its usual: a bulk buyer, a local event, a stock-up before a
price rise, a scanning error. The Poisson quasi-likelihood weighs every case alike, so such a week pulls its
series' level, and through it the lifts, elasticities and seasons of its category, toward a week that will not
come again; a recent level with a short half-life carries it straight into the forecast. So, after a first fit on
the raw cases, every observed cell's cases y are replaced by

    y* = min(y, mu + c s) + k(c) s,      s = sqrt(phi mu),      k(c) = pdf(c) - c sf(c)

(mu the cell's fitted mean, phi the Pearson dispersion, pdf and sf the standard normal's) and the fit continues on
y*: Huber's cap on the Pearson residual, c = 1.345 (Huber's constant: 95 % efficiency at the normal). The second
term is the Fisher-consistency correction of a robust quasi-likelihood (Cantoni and Ronchetti, JASA 2001): k(c) s
is what the cap takes from a cell on average when the model holds (to a normal approximation of the residual),
so the fitted means stay unbiased where the data has no spike, while a spike counts at most c standard
deviations above its mean. The dispersion, and with it every standard error, stays the raw cases'.
"""

from __future__ import annotations

import math

import numpy as np

from planner.calibrate.panel import FloatArray

HUBER_C = 1.345


def expected_loss(c: float) -> float:
    """E[(Z - c)+] for a standard normal Z: what a cap at c standard deviations takes on average."""
    density = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    return density - c * 0.5 * math.erfc(c / math.sqrt(2.0))


def robust_cases(cases: FloatArray, mean: FloatArray, dispersion: float, c: float = HUBER_C) -> FloatArray:
    """(n,) y* of each cell (see the module docstring) from its cases y and fitted mean mu."""
    scale = np.sqrt(dispersion * np.maximum(mean, 0.0))
    return np.asarray(np.minimum(cases, mean + c * scale) + expected_loss(c) * scale, dtype=np.float64)
