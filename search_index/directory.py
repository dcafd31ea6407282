"""The searchable people and rooms in memory, and each searcher's scope.

Privacy bounds what a person may find: their own rooms, the people in them,
and exact usernames. So a search never looks at the whole server. It looks
at the searcher's ``Scope``: their contacts' and rooms' tokens (folded
words and runs of neighbours written together) as one string, one line per
entry, where prefixes and whole words are found by ``str.find`` in C; typos
come from the server-wide vocabulary (one rapidfuzz pass per query word),
met with the scope by set intersection. Only the closest candidates are
then matched in full by ``pyclient.search.match``.

``Directory`` holds every user and room the index holds, fed by the same
events as the Whoosh index (and loaded from it at start). Scopes are cached
per searcher and stay valid across commits: the directory logs which
documents each event changed, and only a scope holding one of them is
rebuilt.
"""

import sys
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import accumulate

from rapidfuzz import process
from rapidfuzz.distance import OSA

from pyclient.search import (
    FUZZY, MAX_JOINED, PREFIX, WORDS, Match, keyboard_variant, match, max_typos, normalize, query_accents, words,
)

from . import events

MAX_SCOPES = 256          # searchers whose scopes are kept
CHANGE_LOG = 20_000       # changed documents remembered for cache checks
MAX_EXAMINED = 200        # candidates matched in full per search


def tokens(text: str) -> tuple[str, ...]:
    """Folded words of ``text`` and runs of 2 to ``MAX_JOINED`` neighbours written together."""
    found = words(text)
    joined = ["".join(found[i:j]) for i in range(len(found))
              for j in range(i + 2, min(i + MAX_JOINED, len(found)) + 1)]
    return tuple(dict.fromkeys(found + joined))


@dataclass(frozen=True, slots=True, eq=False)  # identity: entries meet in sets by object
class Person:
    id: str
    username: str
    display_name: str
    words: frozenset   # folded single words, for typo lookups
    haystack: str      # " token token ... \n": what prefix lookups scan
    key: str


@dataclass(frozen=True, slots=True, eq=False)
class Place:
    id: str
    name: str
    members: frozenset
    expires: float
    words: frozenset
    haystack: str
    key: str


def _haystack(found: tuple[str, ...]) -> str:
    return " " + " ".join(found) + " \n"


def _words(*texts: str) -> frozenset:
    # Interned: a hundred thousand names share a few thousand words.
    return frozenset(sys.intern(word) for text in texts for word in words(text))


def person(event: dict) -> Person:
    display_name = event["display_name"] or ""
    found = tuple(dict.fromkeys(tokens(event["username"]) + tokens(display_name)))
    return Person(event["id"], event["username"], display_name,
                  _words(event["username"], display_name), _haystack(found), f"user:{event['id']}")


def place(event: dict) -> Place:
    found = tokens(event["name"])
    return Place(event["id"], event["name"], frozenset(event["members"]), float(event["expires_at"]),
                 _words(event["name"]), _haystack(found), f"room:{event['id']}")


@dataclass(frozen=True)
class Hit:
    id: str
    name: str
    display_name: str
    match: Match
    matched_field: str  # "name" or "display_name"
    relationship: tuple = ()  # larger is closer: shared rooms, most recent shared room

    def sort_key(self):
        return (self.match.rank, tuple(-x for x in self.relationship), self.id)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "display_name": self.display_name or None,
                "match": {"kind": self.match.kind_name, "field": self.matched_field,
                          "spans": [list(span) for span in self.match.spans], "typos": self.match.typos}}


class Directory:
    """Every user and room the index holds, in memory, with a change log and
    the server-wide vocabulary (word -> documents) for typo lookups."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.places: dict[str, Place] = {}
        self.rooms_of: dict[str, set[str]] = {}
        self.by_username: dict[str, str] = {}
        self.postings: dict[str, set] = {}            # folded word -> entries (Person, Place) holding it
        self.by_shape: dict[tuple[str, int], dict[str, None]] = {}  # (first letter, length) -> words
        self._shape_lists: dict[tuple[str, int], list[str]] = {}   # the same, as lists for rapidfuzz
        self.generation = 0
        self._changes: list[tuple[int, str]] = []  # (generation, "user:ID" | "room:ID" | "self:ID")

    def apply(self, event: dict) -> None:
        kind = event["type"]
        if kind == events.USER:
            self._drop_person(event["id"])
            entry = person(event)
            self.people[entry.id] = entry
            self.by_username[normalize(entry.username)] = entry.id
            self._add_words(entry)
            self._changed(entry.key)
        elif kind == events.USER_REMOVED:
            self._drop_person(event["id"])
            self._changed(f"user:{event['id']}")
        elif kind == events.ROOM:
            old = self._drop_place(event["id"])
            entry = place(event)
            self.places[entry.id] = entry
            for member in entry.members:
                self.rooms_of.setdefault(member, set()).add(entry.id)
            self._add_words(entry)
            self._changed(entry.key, entry.members | (old.members if old else frozenset()))
        else:
            old = self._drop_place(event["id"])
            self._changed(f"room:{event['id']}", old.members if old else ())

    def _add_words(self, entry) -> None:
        for word in entry.words:
            keys = self.postings.get(word)
            if keys is None:
                keys = self.postings[word] = set()
                self.by_shape.setdefault((word[0], len(word)), {})[word] = None
                self._shape_lists.pop((word[0], len(word)), None)
            keys.add(entry)

    def _drop_words(self, entry) -> None:
        for word in entry.words:
            keys = self.postings.get(word)
            if keys is not None:
                keys.discard(entry)
                if not keys:
                    del self.postings[word]
                    self.by_shape[(word[0], len(word))].pop(word, None)
                    self._shape_lists.pop((word[0], len(word)), None)

    def _drop_person(self, user_id: str) -> None:
        old = self.people.pop(user_id, None)
        if old is not None:
            self._drop_words(old)
            if self.by_username.get(normalize(old.username)) == user_id:
                del self.by_username[normalize(old.username)]

    def _drop_place(self, room_id: str) -> Place | None:
        old = self.places.pop(room_id, None)
        if old is not None:
            self._drop_words(old)
            for member in old.members:
                self.rooms_of.get(member, set()).discard(room_id)
        return old

    def _changed(self, key: str, members=()) -> None:
        self.generation += 1
        self._changes.append((self.generation, key))
        # A member's own scope lists the rooms they are in: a new member's scope lacks this room.
        self._changes.extend((self.generation, f"self:{m}") for m in members)
        if len(self._changes) > 2 * CHANGE_LOG:
            del self._changes[:-CHANGE_LOG]

    def changed_since(self, generation: int) -> set[str] | None:
        """Keys changed after ``generation``; ``None`` if the log no longer reaches back."""
        if generation == self.generation:
            return set()
        if not self._changes or self._changes[0][0] > generation + 1:
            return None
        start = bisect_left(self._changes, (generation + 1, ""))
        return {key for _g, key in self._changes[start:]}

    def close_words(self, query_word: str) -> list[tuple[str, int]]:
        """Words of the server within the query word's typo allowance (same
        first letter, length within it), with their distance: one C-speed
        pass (rapidfuzz's optimal string alignment, the distance
        ``pyclient.search`` uses)."""
        limit = max_typos(query_word)
        if not limit:
            return []
        choices: list[str] = []
        for length in range(len(query_word) - limit, len(query_word) + limit + 1):
            shape = (query_word[0], length)
            bucket = self._shape_lists.get(shape)
            if bucket is None and shape in self.by_shape:
                bucket = self._shape_lists[shape] = list(self.by_shape[shape])
            choices.extend(bucket or ())
        found = process.extract(query_word, choices, scorer=OSA.distance, score_cutoff=limit, limit=None)
        return [(word, typos) for word, typos, _i in found if typos]


class Scope:
    """What one searcher may find: their contacts and rooms, each a line of
    tokens in one string (prefixes are found by one C-speed scan), plus the
    set of those entries, to meet the server-wide typo postings."""

    def __init__(self, directory: Directory, user_id: str, contact_ids: frozenset) -> None:
        self.directory = directory
        self.user_id, self.contact_ids, self.generation = user_id, contact_ids, directory.generation
        room_ids = directory.rooms_of.get(user_id, set())
        places = [directory.places[r] for r in room_ids]
        people = [p for p in map(directory.people.get, contact_ids) if p is not None]
        if user_id not in contact_ids and user_id in directory.people:
            people.append(directory.people[user_id])
        self.entries = people + places
        self.entry_set = set(self.entries)
        self.room_ids = frozenset(room_ids)
        self._closeness: dict[str, tuple] = {}
        self.haystack = "".join(entry.haystack for entry in self.entries)
        self.offsets = list(accumulate((len(entry.haystack) for entry in self.entries), initial=0))

    def touched_by(self, changed: set[str]) -> bool:
        """Whether any changed document ("user:ID", "room:ID", "self:ID") is in this scope."""
        for key in changed:
            kind, _sep, ident = key.partition(":")
            if (ident == self.user_id if kind != "room" else False) or (
                    kind == "user" and ident in self.contact_ids) or (kind == "room" and ident in self.room_ids):
                return True
        return False

    def relationship(self, entry) -> tuple:
        """Larger is closer. People: rooms shared, then the newest shared
        room; rooms: the newest first (expiry is creation + lifetime).
        Worked out only for the few entries that get ranked."""
        if isinstance(entry, Place):
            return (entry.expires,)
        found = self._closeness.get(entry.id)
        if found is None:
            places = self.directory.places
            shared = [places[r].expires for r in self.directory.rooms_of.get(entry.id, set()) & self.room_ids
                      if r in places]
            found = self._closeness[entry.id] = (len(shared), max(shared, default=0.0))
        return found

    def _grades(self, query_word: str, fuzzy_kind: int | None = None) -> dict:
        """Entry -> best (kind, typos) of one query word, from the token lines and the typo postings."""
        grades: dict = {}
        haystack, offsets, entries = self.haystack, self.offsets, self.entries
        needle = " " + query_word
        position = haystack.find(needle)
        while position >= 0:
            # One look per entry: its first token with this prefix, then
            # whether any of its tokens equals the word; then the next entry.
            index = bisect_right(offsets, position) - 1
            line_end, entry = offsets[index + 1], entries[index]
            if fuzzy_kind is not None:
                grades[entry] = (fuzzy_kind, 0)
            elif haystack[position + len(needle)] == " " or haystack.find(needle + " ", position, line_end) >= 0:
                grades[entry] = (WORDS, 0)
            else:
                grades[entry] = (PREFIX, 0)
            position = haystack.find(needle, line_end)
        postings = self.directory.postings
        for word, typos in self.directory.close_words(query_word):
            grade = (FUZZY, typos)
            for entry in postings.get(word, set()) & self.entry_set:  # iterates the smaller set
                if grade < grades.get(entry, (9, 9)):
                    grades[entry] = grade
        return grades

    def candidates(self, query_words: list[str]) -> dict:
        """Entries that may match every query word, with a grade from the tokens (``match`` decides)."""
        result: dict | None = None
        for query_word in dict.fromkeys(query_words):
            grades = self._grades(query_word)
            variant = keyboard_variant(query_word)
            if variant and sum(grade[0] < FUZZY for grade in grades.values()) < MAX_EXAMINED:
                # (with that many better matches, Telex/VNI ones, graded fuzzy, would not be shown)
                for entry, grade in self._grades(variant, fuzzy_kind=FUZZY).items():
                    if grade < grades.get(entry, (9, 9)):
                        grades[entry] = grade
            if result is None:
                result = grades
            else:
                result = {e: (max(g[0], grades[e][0]), g[1] + grades[e][1]) for e, g in result.items() if e in grades}
            if not result:
                return {}
        return result or {}

    def search(self, query: str, query_words: list[str], now: float) -> tuple[list[Hit], list[Hit]]:
        accents = query_accents(query)
        graded = self.candidates(query_words)
        # The closest few by grade and relationship are matched in full
        # (spans, diacritics, extra words): as you type "n", thousands of
        # contacts may qualify, and only the first page is shown.
        relationship = self.relationship

        def grade(entry):
            return max(graded[entry][0], WORDS), graded[entry][1]

        shortlist = sorted(graded, key=grade)
        if len(shortlist) > MAX_EXAMINED:  # closeness decides only among the grade cut through
            cut = grade(shortlist[MAX_EXAMINED - 1])
            better = [e for e in shortlist if grade(e) < cut]
            tied = sorted((e for e in shortlist if grade(e) == cut), key=lambda e: tuple(-x for x in relationship(e)))
            shortlist = better + tied[:MAX_EXAMINED - len(better)]
        users, rooms = [], []
        for entry in shortlist:
            if isinstance(entry, Person):
                best = best_match(query_words, accents, (entry.username, "name"), (entry.display_name, "display_name"))
                if best is not None:
                    users.append(Hit(entry.id, entry.username, entry.display_name, *best,
                                     relationship=relationship(entry)))
            elif entry.expires > now:  # expired, not yet swept: unreachable all the same
                best = best_match(query_words, accents, (entry.name, "name"))
                if best is not None:
                    rooms.append(Hit(entry.id, entry.name, "", *best, relationship=relationship(entry)))
        return users, rooms


def best_match(query_words, accents, *fields):
    found = [(m, name) for m, name in ((match(query_words, text, accents), name) for text, name in fields if text) if m]
    return min(found, key=lambda pair: pair[0].rank) if found else None


@dataclass
class ScopeCache:
    """Scopes of recent searchers; an update rebuilds only the scopes it touched."""

    directory: Directory
    scopes: OrderedDict = field(default_factory=OrderedDict)
    built: int = 0  # scopes built, for tests and the benchmark

    def forget(self, changed: set[str] | None) -> None:
        """Drop the scopes that ``changed`` touched (all of them if ``None``)."""
        for user_id in [u for u, scope in self.scopes.items() if changed is None or scope.touched_by(changed)]:
            del self.scopes[user_id]

    def scope(self, user_id: str, contact_ids) -> Scope:
        contact_ids = frozenset(contact_ids)
        scope = self.scopes.get(user_id)
        if scope is not None and scope.contact_ids == contact_ids:
            changed = self.directory.changed_since(scope.generation)
            if changed is not None and not scope.touched_by(changed):
                scope.generation = self.directory.generation
                self.scopes.move_to_end(user_id)
                return scope
        scope = Scope(self.directory, user_id, contact_ids)
        self.built += 1
        self.scopes[user_id] = scope
        self.scopes.move_to_end(user_id)
        while len(self.scopes) > MAX_SCOPES:
            self.scopes.popitem(last=False)
        return scope
