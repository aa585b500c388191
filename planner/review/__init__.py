"""The year in motion (issue 17): plan against actuals, the variance split, post-event analysis, the latest
estimate and rebate outlook, and the re-plan of the remaining weeks as a transformation of the scenario.

Sits above the simulator (it evaluates plans and counterfactuals with the economics core) and below report/cli.
"""
