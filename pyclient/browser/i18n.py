"""The page's language: ``_(text, **values)`` and ``ngettext(...)``.

Texts come from the catalog the server embedded as ``<script
type="application/json" id="i18n-catalog">`` (read by ``env.page_state()``), built from the same gettext .po
files that translate the server (server/i18n.py): ``{"plural": EXPRESSION,
"messages": {English: text, or a list of plural forms}}``. The page needs no
Babel: ``gettext.c2py`` evaluates the catalog's plural expression.

Dates and times are put into words by ``dates.py``, in ``language()``.
"""

import gettext

_catalog: dict = {}
_plural = [gettext.c2py("n != 1")]
_language = ["en"]


def load(page: dict, language: str) -> None:
    """``page``: the embedded catalog (read with the rest of ``env.page_state()``); ``language``: <html lang>."""
    _catalog.clear()
    _catalog.update(page.get("messages", {}))
    _plural[0] = gettext.c2py(page.get("plural", "n != 1"))
    _language[0] = language or "en"


def language() -> str:
    """The page's language (a BCP 47 tag), as the server chose it."""
    return _language[0]


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
