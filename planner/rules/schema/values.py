"""Strict scalar values: booleans, whole numbers, numbers and dates exactly as docs/rules.md writes them.

Pydantic's lax mode would read `stop: yes`, `stop: 1`, `max: true` (as 1), `priority: "10"` or `weeks: 2.0` and
carry on; a rule file that says `locked: on` would then mean something its author may not have meant, and no one
would be told. These validators accept only the documented spelling and refuse everything else with an error
that says how to write the value (the `fix` in the error's context, which planner/rules/load.py puts on the
finding; the finding is located at the value itself).

Rule files are read as YAML 1.2 (planner/rules/source.py): `yes`, `no`, `on`, `off`, `y` and `n` are text there,
not booleans, so they reach these validators as strings and are refused here, never silently read as true.
Values built in Python (the calibrator, the optimizer) may be numpy scalars: a numpy integer is a whole number and
a numpy float a number, as their `numbers` ABCs say.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def refuse(kind: str, message: str, fix: str) -> PydanticCustomError:
    """An error whose finding says what is wrong (`message`; the loader adds the value it got) and how to write it
    (`fix`). `message` must not hold braces: pydantic formats it with the context."""
    return PydanticCustomError(kind, message, {"fix": fix})


def number_text(value: str) -> str | None:
    """The number a quoted text spells ('5000', '1_500', '12.5'), written as YAML reads a number; else None."""
    text = value.strip().replace("_", "")
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return str(int(number)) if number.is_integer() and "." not in text and "e" not in text.lower() else text


def _flag(value: Any) -> bool:
    """true/false only: not yes/no/on/off/y/n (text in YAML 1.2), not 1/0, not a quoted 'true'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        fix = f"remove the quotes: write {value.strip().lower()}"
    elif isinstance(value, str) and value.strip().lower() in ("yes", "no", "on", "off", "y", "n"):
        meant = "true" if value.strip().lower() in ("yes", "on", "y") else "false"
        fix = (f"write {meant}: in rule files (YAML 1.2) {value.strip()!r} is text, not a boolean; "
               "booleans are written true and false")
    else:
        fix = "write true or false"
    raise refuse("boolean_expected", "expected true or false", fix)


def _whole_number(value: Any) -> int:
    """An integer as YAML writes one: not 3.0, not '3', not true."""
    if value.__class__ is int:  # what the loader gives: no ABC check (a few hundred thousand values a rule set)
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, bool):
        fix = "write a whole number such as 1 or 0, not a boolean"
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        fix = f"write {int(float(value))}, without a decimal point"
    elif isinstance(value, numbers.Real):
        fix = "write a whole number, e.g. 3"
    elif isinstance(value, str) and (spelled := number_text(value)) is not None:
        whole = float(spelled).is_integer()
        fix = (f"remove the quotes: write {int(float(spelled))}" if whole
               else "write a whole number without quotes, e.g. 3")
    else:
        fix = "write a whole number, e.g. 3"
    raise refuse("whole_number_expected", "expected a whole number", fix)


def _number(value: Any) -> float:
    """A number as YAML writes one (an integer counts): not '5000', not true."""
    if value.__class__ is float or value.__class__ is int or (isinstance(value, numbers.Real)
                                                              and not isinstance(value, bool)):
        if not math.isfinite(value):
            raise refuse("number_expected", "expected a finite number", "write a finite number, e.g. 12.5")
        return float(value)
    if isinstance(value, bool):
        fix = "write a number such as 1 or 0, not a boolean"
    elif isinstance(value, str) and (spelled := number_text(value)) is not None:
        fix = f"remove the quotes: write {spelled}"
    else:
        fix = "write a number, e.g. 12.5 (digits, '.' for decimals, '_' between thousands if you like)"
    raise refuse("number_expected", "expected a number", fix)


def _date(value: Any) -> dt.date:
    """A date written YYYY-MM-DD (read by the loader as a date, or quoted text in that form)."""
    if isinstance(value, dt.datetime):
        raise refuse("date_expected", "expected a date, not a date and time", "write the date alone as YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_TEXT.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise refuse("date_expected", "expected a date; this day does not exist",
                         "write a real calendar date as YYYY-MM-DD, e.g. 2027-01-04") from None
    raise refuse("date_expected", "expected a date", "write the date as YYYY-MM-DD, e.g. 2027-01-04")


AS_FLAG = BeforeValidator(_flag)
AS_WHOLE_NUMBER = BeforeValidator(_whole_number)
AS_NUMBER = BeforeValidator(_number)
"""The validators themselves, for a type with bounds of its own: bounds go before the validator in `Annotated`
(`Annotated[float, Field(ge=0), AS_NUMBER]`), so that they reach the JSON Schema as minimum/maximum; bounds
around a whole aliased type (`Annotated[Number, Field(ge=0)]`) would not, and neither would bounds on an optional
field (`x: WholeNumber | None = Field(ge=0)`). Bounds on a required or defaulted field (`x: Number = Field(ge=0)`)
are fine."""

Flag = Annotated[bool, AS_FLAG]
"""true or false."""
WholeNumber = Annotated[int, AS_WHOLE_NUMBER]
"""An integer: a count, a week, a year."""
Number = Annotated[float, AS_NUMBER]
"""A finite number; an integer is a number."""
Date = Annotated[dt.date, BeforeValidator(_date)]
"""A calendar date, YYYY-MM-DD."""

__all__ = ["AS_FLAG", "AS_NUMBER", "AS_WHOLE_NUMBER", "Date", "Flag", "Number", "WholeNumber", "number_text",
           "refuse"]
