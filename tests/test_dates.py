import datetime as dt

import pytest

from kyc.dates import add_years


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (dt.date(2020, 6, 15), 3, dt.date(2023, 6, 15)),
        (dt.date(2020, 6, 15), -10, dt.date(2010, 6, 15)),
        (dt.date(2028, 2, 29), -10, dt.date(2018, 2, 28)),
        (dt.date(2028, 2, 29), 4, dt.date(2032, 2, 29)),
        (dt.date(2000, 2, 29), -100, dt.date(1900, 2, 28)),
        (dt.date(2027, 2, 28), 1, dt.date(2028, 2, 28)),
    ],
)
def test_add_years_keeps_the_day_or_falls_back_to_28_february(day, years, expected):
    assert add_years(day, years) == expected
