"""The account annual plan document (客户年计划书) a key-account manager brings to the buyer (docs/account-plan.md).

`content` gathers one account's plan in the shape of a good annual plan (last year's review, market and channel,
SMART targets, customer promotions with what each rebate tier pays, the consumer activity calendar, vividness
and equipment, the execution and quarterly-review schedule, the flexible reserve); `words` holds its wording in
zh-CN and en; `render` writes it as HTML and, from the same HTML, PDF; `status` keeps its draft -> discussed ->
signed status in the plan store, each change an audit row.
"""
