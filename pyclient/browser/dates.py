"""Dates and times as the reader reads them: their time zone and the page's language.

The server sends UTC (ISO 8601); the browser's ``Intl`` knows the reader's
time zone and how their language writes a date, so formatting goes through
it (in the worker ``js.Intl`` and ``js.Date`` are native: no trip to the
page). Which day is "Today" or "Yesterday" is ``pyclient.timeline.relative_day``
(pure): this module only puts it into words.
"""

import functools
from datetime import date

import js
from pyodide.ffi import to_js

from ..timeline import THIS_WEEK, TODAY, YESTERDAY, relative_day
from .i18n import _, language


def _format(language: str, **options):
    return js.Intl.DateTimeFormat.new(language, to_js(options, dict_converter=js.Object.fromEntries))


class Dates:
    def __init__(self):
        self._time = _format(language(), hour="numeric", minute="2-digit")
        self._full = _format(language(), dateStyle="full", timeStyle="short")
        self._medium = _format(language(), dateStyle="medium", timeStyle="short")
        self._day = _format(language(), weekday="long", day="numeric", month="long")
        self._day_and_year = _format(language(), weekday="long", day="numeric", month="long", year="numeric")
        self._weekday = _format(language(), weekday="short")
        self._short = _format(language(), day="numeric", month="numeric", year="2-digit")

    @staticmethod
    def _js(iso: str):
        return js.Date.new(iso)

    @staticmethod
    def _local_day(moment) -> date:
        return date(moment.getFullYear(), moment.getMonth() + 1, moment.getDate())

    def day(self, iso: str) -> date:
        """The reader's calendar day of a UTC time."""
        return self._local_day(self._js(iso))

    def today(self) -> date:
        return self._local_day(js.Date.new())

    def time(self, iso: str) -> str:
        """``14:05`` or ``2:05 PM``, as the reader's language writes it."""
        return self._time.format(self._js(iso))

    def full(self, iso: str) -> str:
        """The whole date and time, for a tooltip or the room's expiry."""
        return self._full.format(self._js(iso))

    def medium(self, iso: str) -> str:
        """Date and time in a line of settings or search results."""
        return self._medium.format(self._js(iso))

    def day_label(self, day: date) -> str:
        """A day separator's words: Today, Yesterday, or the date (with the year if it is not this one)."""
        today = self.today()
        relative = relative_day(day, today)
        if relative == TODAY:
            return _("Today")
        if relative == YESTERDAY:
            return _("Yesterday")
        formatter = self._day if day.year == today.year else self._day_and_year
        return formatter.format(js.Date.new(day.year, day.month - 1, day.day))

    def activity(self, iso: str) -> str:
        """A room's last activity in the room list: the time today, then Yesterday, the weekday, the date."""
        moment = self._js(iso)
        relative = relative_day(self._local_day(moment), self.today())
        if relative == TODAY:
            return self._time.format(moment)
        if relative == YESTERDAY:
            return _("Yesterday")
        if relative == THIS_WEEK:
            return self._weekday.format(moment)
        return self._short.format(moment)


@functools.cache
def page_dates() -> Dates:
    """The page's one ``Dates``: its formatters are made once, in the page's language."""
    return Dates()


def format_datetime(iso: str) -> str:
    """Date and time of an ISO 8601 instant on the reader's clock."""
    return page_dates().medium(iso)
