"""The simulation's calendar: the data window, day numbers and their text forms.

Time is measured in days since the window start (day 0); ``as_of`` is the last day. All dates
and timestamps in the files are made from day numbers through :class:`Calendar`.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from .arrays import concat
from .parameters import CAMPAIGN_LEAD_DAYS, SECONDS_PER_DAY

__all__ = ["CLOCK", "Calendar", "campaign_id", "window_start"]


def window_start(as_of: date, years: int) -> date:
    """First day of a window of ``years`` years that ends on ``as_of`` (inclusive)."""
    try:
        same_day = as_of.replace(year=as_of.year - years)
    except ValueError:  # 29 February in a non-leap year
        same_day = as_of.replace(year=as_of.year - years, day=28)
    return same_day + timedelta(days=1)


class Calendar:
    """Day numbers and their text forms.

    Time is measured in days since the window start (day 0 = ``start``); ``as_of`` is day
    ``n_days - 1``. Turning day numbers into text goes through the distinct days only, which
    keeps it fast for millions of rows.
    """

    def __init__(self, start: date, n_days: int) -> None:
        self.start = start
        self.n_days = n_days
        self.last_day = n_days - 1
        self.as_of = start + timedelta(days=self.last_day)
        self.campaign_start_day = self.last_day - CAMPAIGN_LEAD_DAYS

    @classmethod
    def ending(cls, as_of: date, years: int) -> Calendar:
        """The calendar of the ``years`` years that end on ``as_of`` (inclusive)."""
        start = window_start(as_of, years)
        return cls(start, (as_of - start).days + 1)

    def format(self, day: np.ndarray, fmt: str) -> np.ndarray:
        """Format day numbers (may be negative or after as_of) with ``strftime`` format."""
        day = np.asarray(day, dtype=np.int64)
        distinct, inverse = np.unique(day, return_inverse=True)
        dates = pd.Timestamp(self.start) + pd.to_timedelta(distinct, unit="D")
        return np.asarray(dates.strftime(fmt), dtype=object)[inverse.reshape(-1)]

    def iso(self, day: int) -> str:
        return (self.start + timedelta(days=int(day))).isoformat()

    def timestamps(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        """``YYYY-MM-DD HH:MM:SS`` text for day numbers and seconds of the day."""
        return concat(self.format(day, "%Y-%m-%d"), " ", CLOCK[np.asarray(second)])

    def datetimes(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        base = np.datetime64(self.start, "s")
        offset = np.asarray(day, np.int64) * SECONDS_PER_DAY + np.asarray(second, np.int64)
        return base + offset.astype("timedelta64[s]")

    def month_index(self, day: np.ndarray) -> np.ndarray:
        """Calendar month number of each day, 0 for the month of the window start."""
        dates = pd.Timestamp(self.start) + pd.to_timedelta(np.asarray(day), unit="D")
        months = (dates.year - self.start.year) * 12 + (dates.month - self.start.month)
        return np.asarray(months, dtype=np.int64)


#: "HH:MM:SS" for every second of a day, to build timestamps by lookup.
CLOCK = np.array(
    [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)],
    dtype=object,
)


def campaign_id(cal: Calendar) -> str:
    """``WINBACK-<year>``, named after the year the win-back campaign starts."""
    year = (cal.start + timedelta(days=cal.campaign_start_day)).year
    return f"WINBACK-{year}"
