"""The re-plan (planner/review/replan.py) on small generated worlds, solved by the existing optimizer:

- through week 0 the re-plan is a fresh optimize (the rules are handed over untouched, the plan is the same);
- a re-plan never changes a past week: the plan's promotions to week WEEK are exactly the ones that ran;
- the budget spent is deducted: what ran (as claimed) plus the plan's spend after WEEK stays within the budget;
- a rebate tier is reached in the re-plan's model exactly when actual past + planned future reaches it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from review_worlds import cut, small_world, worlds

from planner.actuals.model import Actuals
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.optimize.highs import Status
from planner.optimize.run import OptimizeResult, optimize
from planner.review.replan import replan_rules
from planner.review.synthetic import plan_as_actuals
from planner.rules.scenario import Resolved, ScenarioOptions
from planner.rules.schema import Budget, Event, Rebate, RuleSet
from planner.simulate import promotions_for

WEEKS = 6
OPTIONS = ScenarioOptions(gap=0.0, time_limit=60)


def solved(rules: RuleSet) -> OptimizeResult:
    return optimize(Resolved(id="world", name="world", file="world.yaml", rules=rules, options=OPTIONS))


def promoted(events: list[Event], through: int) -> set[tuple[str, str, int, str]]:
    return {(e.account, e.product_group, w, e.mechanic) for e in events for w in e.weeks if w <= through}


def with_budget(rules: RuleSet, events: list[Event], share: float) -> RuleSet:
    """A total budget of `share` of what the drawn calendar spends over the year."""
    compiled = compile_rules(rules)
    spend = float(evaluate(compiled, promotions_for(rules, compiled, events)).budget_spend.sum())
    return rules.replace(budgets=(Budget(id="promo", max=max(1.0, share * spend)),))


@settings(max_examples=12)
@given(worlds(WEEKS, most_accounts=2), st.integers(1, WEEKS - 1), st.floats(0.85, 1.15), st.sampled_from((1.0, 1.5)))
def test_a_replan_never_changes_a_past_week_and_keeps_the_budget(world_and_plan: tuple[RuleSet, list[Event]],
                                                                 through: int, scale: float, share: float) -> None:
    rules, events = world_and_plan
    rules = with_budget(rules, events, share)
    actuals = plan_as_actuals(rules, events, through, scale=scale)
    ran = promoted([p.as_event() for p in actuals.promotions], through)
    replan = replan_rules(rules, events, actuals, through)
    result = solved(replan.rules)
    claimed = sum(p.funding + p.fixed_cost for p in actuals.promotions)
    budget = rules.budgets[0].max
    assert budget is not None
    if claimed > budget * (1 + 1e-9):  # the past alone overspent the budget: no plan can keep it
        assert result.status is Status.INFEASIBLE
        assert any(conflict.rule == "promo" for conflict in result.conflicts)
        return
    assert result.has_plan and not result.violations, (result.status, result.violations)
    assert promoted(result.events, through) == ran
    compiled = compile_rules(replan.rules)
    spend = evaluate(compiled, promotions_for(replan.rules, compiled, result.events)).budget_spend
    assert claimed + float(spend[:, :, through:].sum()) <= budget * (1 + 1e-6)


@settings(max_examples=6)
@given(worlds(WEEKS, most_accounts=2))
def test_a_replan_through_week_zero_is_a_fresh_optimize(world_and_plan: tuple[RuleSet, list[Event]]) -> None:
    rules, events = world_and_plan
    rules = rules.replace(events=tuple(events))
    replan = replan_rules(rules, events, Actuals(2027, plan_as_actuals(rules, events, 0).sales), 0)
    assert replan.rules is rules
    fresh, again = solved(rules), solved(replan.rules)
    assert (again.status, again.objective, promoted(again.events, WEEKS)) == \
        (fresh.status, fresh.objective, promoted(fresh.events, WEEKS))


def test_a_rebate_tier_counts_actual_past_and_planned_future() -> None:
    """An annual volume rebate whose tier is 3 % above the plan's volume: with 20 % more sold in the first half
    the re-plan's model must pay it, with 20 % less (or as planned) it must not."""
    rules = small_world(WEEKS, 1, (cut("tpr", depth=0.2, funding=0.5),))
    compiled = compile_rules(rules)
    threshold = 1.03 * float(evaluate(compiled, promotions_for(rules, compiled, [])).volume.sum())
    rebate = Rebate.model_validate({"id": "annual", "period": "year", "basis": "volume", "method": "retroactive",
                                    "tiers": [{"from": threshold, "rate": 0.05}]})
    rules = rules.replace(rebates=(rebate,))
    through = WEEKS // 2
    for scale, reached in ((1.2, True), (0.8, False), (1.0, False)):
        actuals = plan_as_actuals(rules, [], through, scale=scale)
        replan = replan_rules(rules, [], actuals, through)
        compiled = compile_rules(replan.rules)
        cells = evaluate(compiled, promotions_for(replan.rules, compiled, []))
        truth = float(actuals.sales["cases"].sum()) + float(cells.volume[:, :, through:].sum())
        assert (truth >= threshold) == reached
        assert (float(cells.rebates.sum()) > 0) == reached, (scale, truth, threshold)
