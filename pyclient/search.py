"""Folding and close-match rules shared by every search in SealRoom.

Pure functions, no I/O: the server's Whoosh index (``search_index``) folds and
ranks with these same rules, and the page uses them to search the messages it
has decrypted (``HistoryIndex``), which never leave the page.

Rules:

* Folding: Unicode NFKD, combining marks dropped, ``đ``/``Đ`` → ``d`` (it has no
  decomposition), lower case. ``Nguyễn Văn`` folds to ``nguyen van``. A
  combining mark continues the word it follows, so decomposed (NFD) input,
  as macOS and some keyboards send it, and Windows-1258-style input (``ê``
  plus a separate combining tilde) fold like precomposed text.
* Words are runs of letters and digits after folding; everything else
  (spaces, dots, dashes, underscores) separates words, so extra spaces and
  ``nguyen.van`` vs ``nguyen van`` do not matter.
* A text matches a query when every query word matches a different word of
  the text, or a run of 2 to 4 neighbouring words written together
  (``nguyenvanan`` → ``Nguyễn Văn An``, ``saigon`` → ``Sài Gòn``). The
  match kind is the worst of its words, and ranks as ``exact`` (whole text
  equals the query) < ``words`` (every word equal) < ``prefix`` (``ngu`` →
  ``nguyen``) < ``fuzzy`` (``ngyuen`` → ``nguyen``).
* Fuzzy: optimal string alignment distance (a swap of two neighbours is one
  edit), at most 1 for words of 3 to 5 letters and 2 from 6 letters; words
  shorter than 3 letters match only exactly or as a prefix. A fuzzy match
  keeps the first letter: few typos fall there, and it lets an index look
  at one letter's words instead of all of them.
* Telex and VNI leftovers (``nguyeenx``, ``phucs``, ``nguye6n4``): a query
  word that carries them is also tried with them removed; such a match is
  ``fuzzy`` with the typos of the cleaned word (none for ``phucs`` →
  ``Phúc``), so it ranks above real typos and below prefixes.
* Within a kind: fewer typos, then fewer diacritic differences (the query's
  own accents compared with the text's, NFC, case ignored: ``Ảnh`` puts
  Ảnh before Ánh and Anh; a word typed without any states no preference),
  then whole-text exact, then fewer extra words. Callers break the remaining ties by relationship (the server) or
  time (history), never by code point.
"""

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass

EXACT, WORDS, PREFIX, FUZZY = 0, 1, 2, 3
KIND_NAMES = ("exact", "words", "prefix", "fuzzy")
MAX_JOINED = 4  # a query word may stand for up to this many neighbouring words written together
_SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "ss"}


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    special = _SPECIAL.get(char)
    if special is not None:
        return special
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(text: str) -> str:
    """The folded form of ``text``: no diacritics, ``đ`` → ``d``, lower case."""
    return "".join(_fold_char(char) for char in text)


def _is_word_char(char: str) -> bool:
    return char.isalnum()


@lru_cache(maxsize=65536)
def words_with_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """Folded words of ``text`` with their [start, end) offsets in ``text``.

    Cached: search as you type ranks the same names again at each key.
    """
    found = []
    current: list[str] = []
    start = 0
    for index, char in enumerate(text):
        folded = _fold_char(char)
        if folded and all(_is_word_char(c) for c in folded):
            if not current:
                start = index
            current.append(folded)
        elif current and not folded and unicodedata.combining(char):
            continue  # a decomposed accent belongs to the word it follows
        elif current:
            found.append(("".join(current), start, index))
            current = []
    if current:
        found.append(("".join(current), start, len(text)))
    return tuple(found)


def words(text: str) -> list[str]:
    return [word for word, _start, _end in words_with_spans(text)]


@lru_cache(maxsize=65536)
def accented_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` as written, NFC and lower case: what diacritic preference compares."""
    return tuple(unicodedata.normalize("NFC", text[start:end]).lower() for _w, start, end in words_with_spans(text))


def normalize(text: str) -> str:
    """Folded words joined by single spaces: the form exact matches compare."""
    return " ".join(words(text))


try:  # the same distance in C on the server (search_index); the page has no rapidfuzz and uses the Python below
    from rapidfuzz.distance.OSA import distance as _osa
except ImportError:  # pragma: no cover - Pyodide
    _osa = None


def max_typos(word: str) -> int:
    if len(word) < 3:
        return 0
    return 1 if len(word) <= 5 else 2


_VNI = re.compile(r"(?<=[a-z])[1-9](?=[a-z]|$)")


@lru_cache(maxsize=4096)
def keyboard_variant(word: str) -> str | None:
    """``word`` without Telex or VNI leftovers, or ``None`` if it has none.

    Telex types ``â ê ô`` as ``aa ee oo``, ``ă ơ ư`` with a ``w``, ``đ`` as
    ``dd`` and the tone as a final ``s f r x j``; VNI types them as digits
    after the letter. Only the cheap, unambiguous part is undone: doubled
    vowels and ``dd``, a ``w`` after ``a o u``, one final tone letter after a
    vowel, and single digits between letters.
    """
    if len(word) < 3:
        return None
    variant = word
    if any(c.isdigit() for c in word):
        if not re.fullmatch(r"(?:[a-z]+[1-9])+[a-z]*", word):
            return None  # digits as in a username (an94), not VNI
        variant = _VNI.sub("", word)
    else:
        variant = re.sub(r"aa|ee|oo|dd", lambda m: m.group(0)[0], variant)
        variant = re.sub(r"(?<=[auo])w", "", variant)
        tone = re.sub(r"(?<=[aeiouy])([bcdghklmnpqtv]{0,2})[sfrxj]$", r"\1", variant)
        if tone != variant and len(tone) >= 2:
            variant = tone
    return variant if variant != word and len(variant) >= 2 else None


def distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or ``limit + 1`` once it exceeds ``limit``."""
    if _osa is not None:
        return _osa(a, b, score_cutoff=limit)
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        row_min = i
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def word_match(query_word: str, word: str) -> tuple[int, int, int] | None:
    """(kind, typos, matched length) of one query word against one text word."""
    if word == query_word:
        return WORDS, 0, len(word)
    if word.startswith(query_word):
        return PREFIX, 0, len(query_word)
    limit = max_typos(query_word)
    if limit and word[:1] == query_word[:1]:
        typos = distance(query_word, word, limit)
        if typos <= limit:
            return FUZZY, typos, len(word)
    return None


_word_match = word_match  # the history index's name for it


@dataclass(frozen=True)
class Match:
    """How a text matched: sort a list of matches to rank them.

    Order: the tier (exact or every word equal, then prefix, then fuzzy),
    typos, diacritic differences, then whole-text exact before every word
    equal, then fewer extra words.
    """

    kind: int
    typos: int
    accent_misses: int  # query words whose diacritics differ from the text's
    extra_words: int
    text: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def rank(self) -> tuple[int, int, int, int, int]:
        return (max(self.kind, WORDS), self.typos, self.accent_misses, self.kind, self.extra_words)

    def __lt__(self, other: "Match") -> bool:
        return self.rank < other.rank


def query_accents(query: str) -> list[str]:
    """The query's words as typed (NFC, lower case), parallel to ``words(query)``."""
    return list(accented_words(unicodedata.normalize("NFC", query)))


def _accent_miss(kind: int, query_accent: str | None, text_accent: str) -> int:
    """1 if the text's diacritics differ from the query word's; "" (typed
    without any) has no preference."""
    if query_accent == "":
        return 0
    if query_accent is None or kind == FUZZY:
        return 1
    if kind == PREFIX:
        return 0 if text_accent.startswith(query_accent) else 1
    return 0 if text_accent == query_accent else 1


def match(query_words: list[str], text: str, accents: list[str] | None = None) -> Match | None:
    """Match folded ``query_words`` against ``text``; ``None`` if it does not match.

    ``accents`` are the query words as typed (``query_accents``); without
    them every word counts as a diacritic difference, and a word typed
    without diacritics counts as none. Each query word takes
    the best still-unused word (or run of neighbouring words) of the text,
    so ``an an`` needs two words ``an``. Greedy assignment is enough here:
    queries are a few words and names a few more.
    """
    if not query_words:
        return None
    text_words = words_with_spans(text)
    text_accents = accented_words(text)
    if accents is None or len(accents) != len(query_words):
        accents = [None] * len(query_words)
    else:  # a word typed without diacritics says nothing about them
        accents = ["" if accent == word else accent for accent, word in zip(accents, query_words)]
    if [w for w, _s, _e in text_words] == query_words:
        spans = tuple((start, end) for _w, start, end in text_words)
        misses = sum(_accent_miss(WORDS, a, b) for a, b in zip(accents, text_accents))
        return Match(EXACT, 0, misses, 0, text, spans)
    used: set[int] = set()
    worst, typos, misses, spans = WORDS, 0, 0, []
    for position, query_word in enumerate(query_words):
        accent = accents[position]
        best = _best_word(query_word, accent, text_words, text_accents, used)
        if best is None or best[:2] > (FUZZY, 0):
            variant = keyboard_variant(query_word)
            found = _best_word(variant, None, text_words, text_accents, used) if variant else None
            if found is not None:
                best = (FUZZY, found[1], 1, found[3], found[4], found[5])
        if best is None:
            return None
        kind, word_typos, miss, first, last, length = best
        used.update(range(first, last + 1))
        worst, typos, misses = max(worst, kind), typos + word_typos, misses + miss
        spans.extend(_run_spans(text, text_words, first, last, length))
    return Match(worst, typos, misses, len(text_words) - len(used), text, tuple(sorted(spans)))


def _best_word(query_word, accent, text_words, text_accents, used):
    """(kind, typos, accent miss, first word, last word, folded length matched) or ``None``."""
    best = None
    for index, (word, _start, _end) in enumerate(text_words):
        if index in used:
            continue
        found = word_match(query_word, word)
        if found is not None:
            grade = (found[0], found[1], _accent_miss(found[0], accent, text_accents[index]))
            if best is None or grade < best[:3]:
                best = (*grade, index, index, found[2])
    if best is not None:
        return best
    # Words written together: a run of neighbours, joined, against the query word.
    for first in range(len(text_words)):
        joined, joined_accent = "", ""
        for last in range(first, min(first + MAX_JOINED, len(text_words))):
            if last in used:
                break
            joined += text_words[last][0]
            joined_accent += text_accents[last]
            if last == first or len(joined) < len(query_word) - 2:
                continue
            found = word_match(query_word, joined)
            if found is not None:
                grade = (max(found[0], WORDS), found[1], _accent_miss(found[0], accent, joined_accent))
                if best is None or grade < best[:3]:
                    best = (*grade, first, last, found[2])
    return best


def _run_spans(text, text_words, first, last, folded_length):
    """Spans in ``text`` of the first ``folded_length`` folded letters of words ``first..last``."""
    spans = []
    for index in range(first, last + 1):
        if folded_length <= 0:
            break
        word = text_words[index]
        spans.append(_original_span(text, word, folded_length))
        folded_length -= len(word[0])
    return spans


def _original_span(text: str, word: tuple[str, int, int], folded_length: int) -> tuple[int, int]:
    """Offsets in ``text`` covering the first ``folded_length`` folded letters of ``word``."""
    _folded, start, end = word
    taken, position = 0, start
    while position < end and taken < folded_length:
        taken += len(_fold_char(text[position]))
        position += 1
    while position < end and not _fold_char(text[position]):
        position += 1  # keep a decomposed accent with its letter
    return start, position


def highlight_parts(text: str, spans) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) parts, for rendering with <mark>."""
    parts, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[start:end], True))
        position = end
    if position < len(text):
        parts.append((text[position:], False))
    return parts


# ---- private history search (runs in the page) ---------------------------

@dataclass(frozen=True)
class HistoryEntry:
    room_id: str
    seq: int
    sender: str
    text: str
    created_at: str


@dataclass(frozen=True)
class HistoryHit:
    entry: HistoryEntry
    match: Match


class HistoryIndex:
    """An in-memory index of decrypted messages, searched with the rules above.

    An inverted index from folded word to entries keeps a search over tens of
    thousands of messages fast: only entries that share a word, a prefix or a
    close word with the query are matched in full.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], HistoryEntry] = {}
        self._postings: dict[str, set[tuple[str, int]]] = {}
        self._by_initial: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: HistoryEntry) -> None:
        key = (entry.room_id, entry.seq)
        if key in self._entries:
            return
        self._entries[key] = entry
        for word in set(words(entry.text)):
            self._postings.setdefault(word, set()).add(key)
            self._by_initial.setdefault(word[0], set()).add(word)

    def drop_room(self, room_id: str) -> None:
        for key in [key for key in self._entries if key[0] == room_id]:
            entry = self._entries.pop(key)
            for word in set(words(entry.text)):
                postings = self._postings.get(word)
                if postings is not None:
                    postings.discard(key)
                    if not postings:
                        del self._postings[word]
                        self._by_initial[word[0]].discard(word)

    def keep_rooms(self, room_ids) -> None:
        """Drop every room not in ``room_ids`` (expired, or left)."""
        keep = set(room_ids)
        for room_id in {key[0] for key in self._entries} - keep:
            self.drop_room(room_id)

    def _candidates(self, query_word: str) -> dict[tuple[str, int], tuple[int, int]]:
        """Entry key -> best (kind, typos) of ``query_word`` among that entry's words."""
        best: dict[tuple[str, int], tuple[int, int]] = {}
        for word in self._by_initial.get(query_word[0], ()):
            found = _word_match(query_word, word)
            if found is None:
                continue
            grade = found[:2]
            for key in self._postings[word]:
                if key not in best or grade < best[key]:
                    best[key] = grade
        return best

    def search(self, query: str, limit: int = 20) -> list[HistoryHit]:
        """Best matches first, newest first among equals.

        Entries are graded from the word postings alone; ``match`` (which
        also yields the spans to highlight) runs only on the best few.
        """
        query_words = words(query)
        if not query_words:
            return []
        graded: dict[tuple[str, int], tuple[int, int]] | None = None
        for query_word in dict.fromkeys(query_words):
            found = self._candidates(query_word)
            if graded is None:
                graded = found
            else:
                graded = {key: (max(grade[0], found[key][0]), grade[1] + found[key][1])
                          for key, grade in graded.items() if key in found}
            if not graded:
                return []
        shortlist = sorted(graded, key=lambda key: (graded[key], -key[1], key[0]))[:limit * 3]
        hits = []
        for key in shortlist:
            entry = self._entries[key]
            found = match(query_words, entry.text)
            if found is not None:
                hits.append(HistoryHit(entry, found))
        hits.sort(key=lambda hit: (hit.match.kind, hit.match.typos, -hit.entry.seq, hit.entry.room_id))
        return hits[:limit]
