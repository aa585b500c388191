"""The plan as an Excel workbook planners edit and bring back (docs/workbook.md).

`layout` names the sheets, the grid's coordinates and how one calendar cell is written and read; `events` values
each event (cost, volume, ROI) with the economics core; `export` writes the workbook; `read` turns a planner's
edited workbook back into plan-file events, with every problem located as Sheet!Cell.
"""
