"""``_(text, **values)``: the page's language, from the catalog the server
embedded as ``<script type="application/json" id="i18n-catalog">``."""

import json

from .env import document

_catalog: dict[str, str] = {}


def load() -> None:
    element = document.getElementById("i18n-catalog")
    _catalog.clear()
    if element is not None:
        _catalog.update(json.loads(element.textContent))


def _(text: str, **values) -> str:
    translated = _catalog.get(text, text)
    return translated.format(**values) if values else translated
