"""English and Vietnamese for everything a person reads: gettext catalogs.

The English text is the message id. Babel extracts every string marked with
``_()`` or ``ngettext()`` from the template, the page's client
(pyclient/browser) and the server (``N_()`` in search_index, which cannot
import the server) into ``web/i18n/messages.pot``
(``make i18n``; ``babel.cfg`` says where), and each language's translations
live in ``web/i18n/<language>/LC_MESSAGES/messages.po``.

The .po files are read at start-up and compiled in memory (Babel's reader
and .mo writer, loaded as ``gettext.GNUTranslations``) rather than compiled
to .mo files at ``make setup``: one file per language is the truth, and no
compiled copy can go stale beside an edited .po. Reading them takes about
15 ms. Fuzzy entries are not served (tests/test_i18n.py refuses them).

In the server, ``_()`` does not translate: it makes a ``Message``, the English
text with its values, which is translated and only then formatted once the
reader is known (``server.http.common.translated``, for HTTP answers and
WebSocket error frames). Values use ``str.format`` fields: ``{name}``.

This module knows nothing about the web framework, so the domain can use it.
"""

import gettext
import io
import math
from dataclasses import dataclass
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "vi")
DEFAULT_LANGUAGE = "en"
COOKIE = "sealroom_lang"
DOMAIN = "messages"
PAGE_SOURCES = "pyclient/"  # the page's catalog holds the strings the client translates itself
ENGLISH_PLURAL = "(n != 1)"


class Message:
    """A sentence for a person, in English, translated when it reaches them."""

    __slots__ = ("text", "plural", "number", "values")

    def __init__(self, text: str, plural: str | None = None, number: int | None = None, /, **values):
        self.text, self.plural, self.number, self.values = text, plural, number, values

    def translate(self, translations: gettext.NullTranslations) -> str:
        if self.plural is None:
            text = translations.gettext(self.text)
        else:
            text = translations.ngettext(self.text, self.plural, self.number)
        if not self.values:
            return text
        return text.format(**{name: value.translate(translations) if isinstance(value, Message) else value
                              for name, value in self.values.items()})

    def __str__(self) -> str:
        return self.translate(ENGLISH)

    def __repr__(self) -> str:
        return f"Message({str(self)!r})"


ENGLISH = gettext.NullTranslations()


def _(text: str, **values) -> Message:
    return Message(text, **values)


def ngettext(singular: str, plural: str, count: int, **values) -> Message:
    """A sentence with a number in it: ``{count}`` is that number."""
    return Message(singular, plural, count, count=count, **values)


def as_message(text) -> Message:
    return text if isinstance(text, Message) else Message(str(text))


@dataclass(frozen=True)
class Catalog:
    language: str
    translations: gettext.NullTranslations
    page: dict  # {"plural": C expression over n, "messages": {English: text or [plural forms]}}


def po_path(web_dir: Path, language: str) -> Path:
    return web_dir / "i18n" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalogs(web_dir: Path) -> dict[str, Catalog]:
    catalogs = {DEFAULT_LANGUAGE: Catalog(DEFAULT_LANGUAGE, ENGLISH, {"plural": ENGLISH_PLURAL, "messages": {}})}
    for language in LANGUAGES[1:]:
        with po_path(web_dir, language).open("rb") as handle:
            po = read_po(handle, locale=language, domain=DOMAIN)
        mo = io.BytesIO()
        write_mo(mo, po)  # fuzzy entries left out
        mo.seek(0)
        messages = {message.id[0] if message.pluralizable else message.id:
                    list(message.string) if message.pluralizable else message.string
                    for message in po
                    if message.id and message.string and all(message.string) and not message.fuzzy
                    and any(path.startswith(PAGE_SOURCES) for path, _line in message.locations)}
        plural = po.plural_expr
        catalogs[language] = Catalog(language, gettext.GNUTranslations(mo), {"plural": plural, "messages": messages})
    return catalogs


def negotiate(accept_language: str, chosen: str | None = None) -> str:
    """The reader's language: the one chosen on the page (cookie), else the
    best of ``Accept-Language`` by its q-weights, else English."""
    if chosen in LANGUAGES:
        return chosen
    weighted = []
    for position, part in enumerate(accept_language.split(",")[:64]):
        tag, _sep, parameters = part.partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _sep, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        tag = tag.strip()
        if tag and tag != "*" and math.isfinite(weight) and 0 < weight <= 1:
            weighted.append((-weight, position, tag))
    preferred = [tag for _weight, _position, tag in sorted(weighted)]
    return negotiate_locale(preferred, LANGUAGES, sep="-", aliases=None) or DEFAULT_LANGUAGE
