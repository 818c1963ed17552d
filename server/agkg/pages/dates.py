"""Dates as the article gives them: a day, a month or a year, never more precise than stated."""

from __future__ import annotations

import calendar
import re

import pyoxigraph as ox

from ..vocab import XSD

_DAY = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"^(-?\d{4,})-(\d{2})")
_YEAR = re.compile(r"^(-?\d{4,})")


def precision(value: ox.Literal) -> str:
    """"day", "month", "year" or "" for a literal that is no date."""
    datatype = value.datatype.value
    if datatype in (str(XSD.date), str(XSD.dateTime)) and _DAY.match(value.value):
        return "day"
    if datatype == str(XSD.gYearMonth) and _MONTH.match(value.value):
        return "month"
    if datatype == str(XSD.gYear) and _YEAR.match(value.value):
        return "year"
    return ""


def human(value: ox.Literal) -> str:
    """"3 January 2020", "March 2019", "2018": the date in words at its own precision."""
    kind = precision(value)
    if kind == "day":
        year, month, day = _DAY.match(value.value).groups()
        return f"{int(day)} {calendar.month_name[int(month)]} {int(year)}"
    if kind == "month":
        year, month = _MONTH.match(value.value).groups()
        return f"{calendar.month_name[int(month)]} {int(year)}"
    if kind == "year":
        return str(int(_YEAR.match(value.value).group(1)))
    return value.value


def span(value: ox.Literal) -> tuple[str, str] | None:
    """The first and last day (ISO) a date at its precision covers; None for a non-date."""
    kind = precision(value)
    if kind == "day":
        day = "-".join(_DAY.match(value.value).groups())
        return day, day
    if kind == "month":
        year, month = _MONTH.match(value.value).groups()
        last = calendar.monthrange(int(year), int(month))[1]
        return f"{year}-{month}-01", f"{year}-{month}-{last:02d}"
    if kind == "year":
        year = _YEAR.match(value.value).group(1)
        return f"{year}-01-01", f"{year}-12-31"
    return None


def interval(earliest: ox.Literal, latest: ox.Literal) -> str:
    """"between 15 and 16 February 2020": an interval in as few words as its ends allow."""
    a, b = _DAY.match(earliest.value), _DAY.match(latest.value)
    if a and b and precision(earliest) == precision(latest) == "day":
        (ya, ma, da), (yb, mb, db) = a.groups(), b.groups()
        if (ya, ma) == (yb, mb):
            return f"between {int(da)} and {int(db)} {calendar.month_name[int(mb)]} {int(yb)}"
        if ya == yb:
            return f"between {int(da)} {calendar.month_name[int(ma)]} and {human(latest)}"
    return f"between {human(earliest)} and {human(latest)}"
