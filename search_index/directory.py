"""The searchable people and rooms in memory, and each searcher's scope.

Privacy bounds what a person may find: their own rooms, the people in them,
and exact usernames. So a search never looks at the whole server. It looks
at the searcher's ``Scope``: the tokens of their contacts and rooms, with
postings, a sorted list for prefixes and (first letter, length) buckets
for typos, so one key typed costs a few dictionary and bisect steps, not a
match of every contact.

``Directory`` holds every user and live room, fed by the same events as
the Whoosh index (it is rebuilt from it at start). Scopes are cached per
searcher and stay valid across commits: an event marks only the documents
it changed, and only a scope that holds one of them is rebuilt.
"""

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field

from pyclient.search import (
    FUZZY, MAX_JOINED, Match, keyboard_variant, match, max_typos, normalize, query_accents, word_match, words,
)

from . import events

MAX_SCOPES = 256          # searchers whose scopes are kept
CHANGE_LOG = 20_000       # changed documents remembered for cache checks


def tokens(text: str) -> tuple[str, ...]:
    """Folded words of ``text`` and runs of 2 to ``MAX_JOINED`` neighbours written together."""
    found = words(text)
    joined = ["".join(found[i:j]) for i in range(len(found))
              for j in range(i + 2, min(i + MAX_JOINED, len(found)) + 1)]
    return tuple(dict.fromkeys(found + joined))


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    username: str
    display_name: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    members: frozenset
    expires: float
    tokens: tuple[str, ...]


def person(event: dict) -> Person:
    display_name = event["display_name"] or ""
    return Person(event["id"], event["username"], display_name,
                  tuple(dict.fromkeys(tokens(event["username"]) + tokens(display_name))))


def place(event: dict) -> Place:
    return Place(event["id"], event["name"], frozenset(event["members"]), float(event["expires_at"]),
                 tokens(event["name"]))


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
    """Every user and room the index holds, in memory, with a change log."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.places: dict[str, Place] = {}
        self.rooms_of: dict[str, set[str]] = {}
        self.by_username: dict[str, str] = {}
        self.generation = 0
        self._changes: list[tuple[int, str]] = []  # (generation, "user:ID" | "room:ID")

    def apply(self, event: dict) -> None:
        kind = event["type"]
        if kind == events.USER:
            self._drop_person(event["id"])
            entry = person(event)
            self.people[entry.id] = entry
            self.by_username[normalize(entry.username)] = entry.id
            self._changed(f"user:{entry.id}")
        elif kind == events.USER_REMOVED:
            self._drop_person(event["id"])
            self._changed(f"user:{event['id']}")
        elif kind == events.ROOM:
            self._drop_place(event["id"])
            entry = place(event)
            self.places[entry.id] = entry
            for member in entry.members:
                self.rooms_of.setdefault(member, set()).add(entry.id)
            self._changed(f"room:{entry.id}", entry.members)
        else:
            old = self._drop_place(event["id"])
            self._changed(f"room:{event['id']}", old.members if old else ())

    def _drop_person(self, user_id: str) -> None:
        old = self.people.pop(user_id, None)
        if old is not None and self.by_username.get(normalize(old.username)) == user_id:
            del self.by_username[normalize(old.username)]

    def _drop_place(self, room_id: str) -> Place | None:
        old = self.places.pop(room_id, None)
        for member in old.members if old else ():
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


class Scope:
    """What one searcher may find, indexed by token."""

    def __init__(self, directory: Directory, user_id: str, contact_ids: frozenset) -> None:
        self.user_id, self.contact_ids, self.generation = user_id, contact_ids, directory.generation
        room_ids = directory.rooms_of.get(user_id, set())
        self.places = [directory.places[r] for r in room_ids]
        shared: dict[str, list] = {}
        for room in self.places:
            for member in room.members:
                counts = shared.setdefault(member, [0, 0.0])
                counts[0] += 1
                counts[1] = max(counts[1], room.expires)  # expiry = creation + lifetime: the newest room
        self.people = [p for p in map(directory.people.get, contact_ids | {user_id}) if p is not None]
        self.relationship = {m: tuple(v) for m, v in shared.items()}
        self.keys = {f"user:{p.id}" for p in self.people} | {f"room:{r}" for r in room_ids} | {f"self:{user_id}"}
        entries = self.people + self.places
        postings: dict[str, list[int]] = {}
        for index, entry in enumerate(entries):
            for token in entry.tokens:
                postings.setdefault(token, []).append(index)
        self.entries, self.postings = entries, postings
        self.sorted_tokens = sorted(postings)
        shapes: dict[tuple[str, int], list[str]] = {}
        for token in self.sorted_tokens:
            shapes.setdefault((token[0], len(token)), []).append(token)
        self.shapes = shapes

    def _tokens_for(self, query_word: str):
        if query_word in self.postings:
            yield query_word
        start = bisect_left(self.sorted_tokens, query_word)
        for token in self.sorted_tokens[start:]:
            if not token.startswith(query_word):
                break
            if token != query_word:
                yield token
        limit = max_typos(query_word)
        for length in range(len(query_word) - limit, len(query_word) + limit + 1) if limit else ():
            for token in self.shapes.get((query_word[0], length), ()):
                found = word_match(query_word, token)
                if found is not None and found[0] == FUZZY:
                    yield token

    def candidates(self, query_words: list[str]) -> set[int]:
        """Entries that may match every query word (``match`` decides)."""
        result: set[int] | None = None
        for query_word in dict.fromkeys(query_words):
            found: set[int] = set()
            for variant in filter(None, (query_word, keyboard_variant(query_word))):
                for token in self._tokens_for(variant):
                    found.update(self.postings[token])
            result = found if result is None else result & found
            if not result:
                return set()
        return result or set()

    def search(self, query: str, query_words: list[str], now: float) -> tuple[list[Hit], list[Hit]]:
        accents = query_accents(query)
        users, rooms = [], []
        for index in self.candidates(query_words):
            entry = self.entries[index]
            if isinstance(entry, Person):
                best = best_match(query_words, accents, (entry.username, "name"), (entry.display_name, "display_name"))
                if best is not None:
                    users.append(Hit(entry.id, entry.username, entry.display_name, *best,
                                     relationship=self.relationship.get(entry.id, (0, 0.0))))
            elif entry.expires > now:  # expired, not yet swept: unreachable all the same
                best = best_match(query_words, accents, (entry.name, "name"))
                if best is not None:
                    rooms.append(Hit(entry.id, entry.name, "", *best, relationship=(entry.expires,)))
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

    def scope(self, user_id: str, contact_ids) -> Scope:
        contact_ids = frozenset(contact_ids)
        scope = self.scopes.get(user_id)
        if scope is not None and scope.contact_ids == contact_ids:
            changed = self.directory.changed_since(scope.generation)
            if changed is not None and not (changed & scope.keys):
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
