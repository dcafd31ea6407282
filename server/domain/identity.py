"""Names that cannot pass for someone else's (issue 9: look-alike usernames).

A username is refused when it is not in NFKC form (fullwidth ``ＡＬＩＣＥ``,
styled ``𝐚𝐥𝐢𝐜𝐞``), or when it mixes scripts with letters that imitate
another script (Cyrillic ``а`` in ``аlice``), as django-registration does
with the same library. A name that passes is also compared by its
*skeleton* with the names already taken: ``a1ice``, ``aIice`` and an
all-Cyrillic imitation all have the skeleton of ``alice``.

The skeleton follows UTS #39 (section 4) in spirit, over the confusables
that ``confusable-homoglyphs`` ships (generated from Unicode's
confusables.txt): each character is replaced by the smallest code point of
its class of look-alikes.
"""

import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

from ..i18n import Message, _

_MARKS = "\u200e\u200f"  # the data wraps right-to-left glyphs in direction marks


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> the smallest member of its look-alike class."""
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        root = parent.setdefault(char, char)
        while root != parent[root]:
            root = parent[root]
        parent[char] = root
        return root

    for char, homoglyphs in confusables.confusables_data.items():
        for homoglyph in homoglyphs:
            glyph = homoglyph["c"].strip(_MARKS)
            if len(char) == 1 and len(glyph) == 1:
                first, second = find(char), find(glyph)
                if first != second:
                    parent[max(first, second)] = min(first, second)
    return {char: find(char) for char in parent}


def _map(text: str) -> str:
    prototypes = _prototypes()
    return "".join(prototypes.get(char, char) for char in text)


def skeleton(name: str) -> str:
    """Equal for names a reader cannot tell apart. Case is kept, since names
    are shown as they were typed: ``aIice`` looks like ``alice`` (capital I,
    small L), ``Alice`` does not (and has the same login key anyway)."""
    return _map(unicodedata.normalize("NFKC", name))


def look_alike_problem(name: str) -> Message | None:
    """Why ``name`` may not be a username, or None."""
    if unicodedata.normalize("NFKC", name) != name:
        return _("Use ordinary letters and digits: fullwidth or styled forms look like other names.")
    if confusables.is_dangerous(name):
        return _("This name mixes alphabets with letters that look alike, so it could pass for another name.")
    return None
