"""Actuals: the sell-in and the executed promotions of the plan year as it happens (issue 17).

Files are read and checked here with the history format's located errors (planner.actuals.read), kept in the plan
store per plan year (planner.actuals.store) and placed on the plan's account x product x week grid
(planner.actuals.model.on_grid). It reads like planner.history and sits just above planner.compile (for the
grid); nothing here simulates or optimizes.
"""

from planner.actuals.model import ActualCells, Actuals, ExecutedPromotion, on_grid
from planner.actuals.read import PromotionsFile, SalesFile, read_actuals

__all__ = ["ActualCells", "Actuals", "ExecutedPromotion", "PromotionsFile", "SalesFile", "on_grid", "read_actuals"]
