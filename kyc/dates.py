"""Calendar arithmetic that never raises on 29 February."""

from __future__ import annotations

import datetime as dt

# The earliest birth date or document date accepted. Years such as 1 are dates to Python but to
# nobody's identity papers, and they overflow date arithmetic and time-zone conversions later on
# (the day before 0001-01-01 does not exist).
EARLIEST_PLAUSIBLE_DATE = dt.date(1900, 1, 1)


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole years; 29 February lands on 28 February in a common year.

    `date.replace(year=...)` raises ValueError for 29 February of a leap year moved to a common
    year, which made the demo seed fail on the days whose random dates hit a leap day.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
