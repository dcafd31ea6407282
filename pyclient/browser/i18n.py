"""The page's language: ``_(text, **values)``, ``ngettext(...)`` and localized times.

Texts come from the catalog the server embedded as ``<script
type="application/json" id="i18n-catalog">`` (read by ``env.page_state()``), built from the same gettext .po
files that translate the server (server/i18n.py): ``{"plural": EXPRESSION,
"messages": {English: text, or a list of plural forms}}``. The page needs no
Babel: ``gettext.c2py`` evaluates the catalog's plural expression.

Times are formatted by the browser's ``Intl.DateTimeFormat`` in the page's
language and the user's own time zone.
"""

import gettext

import js
from pyodide.ffi import to_js

_catalog: dict = {}
_plural = [gettext.c2py("n != 1")]
_language = [js.undefined]  # the page's language once loaded; until then the browser's own
_formats: dict = {}  # name -> Intl.DateTimeFormat, made when first used
FORMATS = {
    "time": {"hour": "2-digit", "minute": "2-digit"},
    "day": {"weekday": "long", "day": "numeric", "month": "long"},
    "day_and_year": {"weekday": "long", "day": "numeric", "month": "long", "year": "numeric"},
    "datetime": {"dateStyle": "medium", "timeStyle": "short"},
}


def load(page: dict, language: str) -> None:
    """``page``: the embedded catalog (read with the rest of ``env.page_state()``); ``language``: <html lang>."""
    _catalog.clear()
    _catalog.update(page.get("messages", {}))
    _plural[0] = gettext.c2py(page.get("plural", "n != 1"))
    _language[0] = language or js.undefined
    _formats.clear()


def _(text: str, **values) -> str:
    translated = _catalog.get(text, text)
    if isinstance(translated, list):
        translated = translated[0]
    return translated.format(**values) if values else translated


def ngettext(singular: str, plural: str, count: int, **values) -> str:
    """A text with a number in it: ``{count}`` is that number."""
    forms = _catalog.get(singular)
    if isinstance(forms, list) and all(forms):
        text = forms[min(_plural[0](count), len(forms) - 1)]
    else:
        text = singular if count == 1 else plural
    return text.format(count=count, **values)


def _format(name: str, date) -> str:
    if name not in _formats:
        options = to_js(FORMATS[name], dict_converter=js.Object.fromEntries)
        _formats[name] = js.Intl.DateTimeFormat.new(_language[0], options)
    return _formats[name].format(date)


def _local_day(date) -> tuple[int, int, int]:
    return date.getFullYear(), date.getMonth(), date.getDate()


def format_time(iso: str) -> str:
    """The hour and minute of an ISO 8601 instant, on the user's clock."""
    return _format("time", js.Date.new(iso))


def format_datetime(iso: str) -> str:
    """Date and time of an ISO 8601 instant, on the user's clock."""
    return _format("datetime", js.Date.new(iso))


def format_day(iso: str) -> str:
    """"Today", "Yesterday", or the weekday and date (with the year if it is not this year)."""
    date, today = js.Date.new(iso), js.Date.new()
    yesterday = js.Date.new(today.getFullYear(), today.getMonth(), today.getDate() - 1)
    if _local_day(date) == _local_day(today):
        return _("Today")
    if _local_day(date) == _local_day(yesterday):
        return _("Yesterday")
    return _format("day" if date.getFullYear() == today.getFullYear() else "day_and_year", date)


def format_message_time(iso: str) -> str:
    """When a message was sent: its time today, else its day and time."""
    if _local_day(js.Date.new(iso)) == _local_day(js.Date.new()):
        return format_time(iso)
    return _("{day}, {time}", day=format_day(iso), time=format_time(iso))
