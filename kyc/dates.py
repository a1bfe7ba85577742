"""Calendar arithmetic that never raises: on 29 February, or at the ends of the calendar."""

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


# The dates any input accepts. Outside them the calendar arithmetic behind a filter overflows (the
# day after 9999-12-31; midnight of 0001-01-01 in Paris is before datetime.min in UTC) and answered
# 500; and no person, document or audit row of this application is older than 1900.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
