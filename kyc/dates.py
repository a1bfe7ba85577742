"""Calendar arithmetic that never raises on 29 February."""

from __future__ import annotations

import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole years; 29 February lands on 28 February in a common year.

    `date.replace(year=...)` raises ValueError for 29 February of a leap year moved to a common
    year, which made the demo seed fail on the days whose random dates hit a leap day.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
