"""Every term change between two plan versions, in business words (issue 16, "what you are approving").

Three small steps, lowest first:

- `terms`: the terms that cover each account, taken from a resolved rule set (after `extends:` and overrides) as
  plain JSON-ready data. `planner.account_plans` freezes them with each account's annual plan, so a stored version
  carries its own terms and a diff never reads today's rule files.
- `compare`: two versions' terms compared rule by rule and field by field (rebate tiers and rates, caps,
  discounts, price bands, mechanics, events, budgets, floors, vividness, calendar rules, the account's own
  record), giving typed `Change` records; each carries the accounts it covers and, from the two versions'
  per-account results, the money effect on those accounts where the rule kind has one.
- `wording`: how a change reads ("Rebate rb-carrefour-growth, tier 2 rate: 2.0% -> 3.0% (+1.0 pt)").

Nothing here imports the store or the reports; they import this.
"""
