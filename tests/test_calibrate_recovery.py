"""Parameter recovery: on small synthetic worlds drawn from the engine's own form with known parameters, the fit
finds them again -- elasticity within 5 %, lifts within 10 %, dip and cannibalization shares within 0.03 (the
tolerances of issue 14). A full-size world is fitted by benchmarks/bench_calibrate.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.calibrate.fit import fit
from planner.calibrate.synthetic import recovery, world

TOLERANCE = {"elasticity": 0.05, "lift": 0.10, "dip": 0.03, "cannibalization": 0.03}


@st.composite
def small_worlds(draw: st.DrawFn) -> dict[str, int | float]:
    return {"seed": draw(st.integers(0, 2 ** 16)), "accounts": draw(st.integers(5, 9)),
            "products": draw(st.integers(3, 6)), "dip": draw(st.sampled_from([0.0, 0.15, 0.3])),
            "dip_weeks": draw(st.sampled_from([1, 2])),
            "cannibalization": draw(st.sampled_from([0.0, 0.1, 0.25]))}


@settings(max_examples=6, derandomize=True)  # the same six worlds everywhere, as in CI's profile; see below
@given(small_worlds())
def test_the_fit_recovers_a_small_worlds_parameters(drawn: dict[str, int | float]) -> None:
    """A random run once found the smallest world (seed 2, 5 accounts x 3 products, cannibalization 0.25)
    recovering elasticity to 5.5 %, outside 5 %, while the dip and cannibalization were fitted by fixed point; with
    the exact gradient through them it recovers elasticity to 1.3 % and cannibalization to 0.002 (that world is
    pinned in test_the_counterexample_world_recovers below)."""
    synthetic = world(int(drawn["seed"]), accounts=int(drawn["accounts"]), products=int(drawn["products"]),
                      weeks=104, dip=float(drawn["dip"]), dip_weeks=int(drawn["dip_weeks"]),
                      cannibalization=float(drawn["cannibalization"]))
    errors = recovery(fit(synthetic.frame), synthetic)
    for name, error in errors.items():
        kind = name.split("[")[0].split(".")[0]
        assert abs(error) <= TOLERANCE[kind], (name, error, errors)


def test_recovery_with_several_categories_and_overdispersion() -> None:
    synthetic = world(7, accounts=16, products=8, categories=2, weeks=156, overdispersion=0.05)
    errors = recovery(fit(synthetic.frame), synthetic)
    for name, error in errors.items():
        kind = name.split("[")[0].split(".")[0]
        assert abs(error) <= TOLERANCE[kind], (name, error, errors)


def test_the_counterexample_world_recovers() -> None:
    """Strong cannibalization among three products used to trade off against elasticity (see above)."""
    synthetic = world(2, accounts=5, products=3, weeks=104, dip=0.0, dip_weeks=1, cannibalization=0.25)
    errors = recovery(fit(synthetic.frame), synthetic)
    for name, error in errors.items():
        kind = name.split("[")[0].split(".")[0]
        assert abs(error) <= TOLERANCE[kind], (name, error, errors)
