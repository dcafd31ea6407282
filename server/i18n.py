"""English and Vietnamese UI text, gettext style: the English text is the key.

Catalogs live in ``web/i18n/<lang>.json``; a missing entry falls back to the
English text. The page gets its catalog as a JSON data block, so the Python
client (pyclient/browser/i18n.py) translates with the same entries.
"""

import json
from pathlib import Path

from aiohttp import web

LANGUAGES = ("en", "vi")
DEFAULT_LANGUAGE = "en"
COOKIE = "sealroom_lang"


def load_catalogs(web_dir: Path) -> dict[str, dict[str, str]]:
    catalogs = {"en": {}}
    for language in LANGUAGES[1:]:
        catalogs[language] = json.loads((web_dir / "i18n" / f"{language}.json").read_text(encoding="utf-8"))
    return catalogs


def pick_language(request: web.Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def translate(catalog: dict[str, str], text: str) -> str:
    return catalog.get(text, text)
