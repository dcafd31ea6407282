"""``_(text, **values)``: the page's language, from the catalog the server
embedded as ``<script type="application/json" id="i18n-catalog">`` (read by
``env.page_state()``)."""

_catalog: dict[str, str] = {}


def load(catalog: dict[str, str]) -> None:
    _catalog.clear()
    _catalog.update(catalog)


def _(text: str, **values) -> str:
    translated = _catalog.get(text, text)
    return translated.format(**values) if values else translated
