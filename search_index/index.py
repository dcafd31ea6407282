"""The Whoosh schema, its analyzer, and the index: write events, run queries."""

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.query import And, FuzzyTerm, Or, Prefix, Term

from pyclient.search import Match, match, max_typos, normalize, words, words_with_spans

from . import events
from .errors import SearchIndexError

# Bump when the schema or the analyzer changes: an index with another
# version is rebuilt at start-up.
SCHEMA_VERSION = "1"
VERSION_FILE = "sealroom-schema-version"
WRITER_TIMEOUT = 30.0  # seconds to wait for the lock if another writer holds it
CANDIDATES = 200  # Whoosh hits re-ranked by the shared rules
MAX_QUERY_CHARS = 100
MAX_QUERY_WORDS = 8


class FoldingTokenizer(Tokenizer):
    """Words folded by ``pyclient.search`` (diacritics, ``đ``, case)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for position, (word, start, end) in enumerate(words_with_spans(value)):
            token.text, token.boost, token.stopped = word, 1.0, False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def make_schema() -> Schema:
    return Schema(
        key=ID(unique=True, stored=True),         # "user:ID" or "room:ID"
        kind=ID(stored=True),                     # "user" or "room"
        ident=ID(stored=True),                    # the user's or room's id
        name=STORED(),                            # username or room name, as written
        display_name=STORED(),
        words=TEXT(analyzer=FoldingTokenizer(), phrase=False),
        exact=ID(),                               # users: the normalized username only
        members=KEYWORD(),                        # rooms: member user ids
        expires=NUMERIC(bits=64, stored=True),    # rooms: epoch seconds
    )


def user_document(event: dict) -> dict:
    text = " ".join(filter(None, (event["username"], event["display_name"])))
    return {"key": f"user:{event['id']}", "kind": "user", "ident": event["id"], "name": event["username"],
            "display_name": event["display_name"] or "", "words": text, "exact": normalize(event["username"])}


def room_document(event: dict) -> dict:
    return {"key": f"room:{event['id']}", "kind": "room", "ident": event["id"], "name": event["name"],
            "words": event["name"], "members": " ".join(event["members"]), "expires": int(event["expires_at"])}


@dataclass(frozen=True)
class Hit:
    id: str
    name: str
    display_name: str
    match: Match
    matched_field: str  # "name" or "display_name"

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "display_name": self.display_name or None,
                "match": {"kind": self.match.kind_name, "field": self.matched_field,
                          "spans": [list(span) for span in self.match.spans], "typos": self.match.typos}}


@dataclass
class SearchResults:
    users: list[Hit] = field(default_factory=list)
    rooms: list[Hit] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"users": [hit.to_json() for hit in self.users], "rooms": [hit.to_json() for hit in self.rooms]}


class QueryError(ValueError):
    pass


def query_words(query: str) -> list[str]:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("Type something to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"Searches are at most {MAX_QUERY_CHARS} characters.")
    found = words(query)
    if not found:
        raise QueryError("Search for letters or digits: punctuation alone matches nothing.")
    if len(found) > MAX_QUERY_WORDS:
        raise QueryError(f"Searches are at most {MAX_QUERY_WORDS} words.")
    return found


def _text_query(found: list[str]):
    per_word = []
    for word in dict.fromkeys(found):
        options = [Term("words", word, boost=4.0), Prefix("words", word, boost=2.0)]
        if max_typos(word):
            # Whoosh's automaton counts a swap of neighbours as two edits; the
            # shared rules count it as one. Ask Whoosh for one more edit (up
            # to 2) and let match() keep only what the rules accept.
            options.append(FuzzyTerm("words", word, maxdist=min(max_typos(word) + 1, 2), prefixlength=1))
        per_word.append(Or(options))
    return And(per_word)


def _best_match(found: list[str], name: str, display_name: str) -> tuple[Match, str] | None:
    candidates = [(m, f) for m, f in ((match(found, name), "name"),
                                      (match(found, display_name) if display_name else None, "display_name")) if m]
    return min(candidates, key=lambda pair: pair[0]) if candidates else None


class SearchIndex:
    """One Whoosh index directory. Writes go through ``apply`` from one writer."""

    def __init__(self, ix) -> None:
        self._ix = ix
        self._searcher = ix.searcher()
        self._user_cache: dict[str, dict | None] = {}

    @classmethod
    def open(cls, directory: Path) -> "SearchIndex":
        """Open an existing index; raise ``SearchIndexError`` if it is missing or unusable."""
        directory = Path(directory)
        version_file = directory / VERSION_FILE
        if not version_file.exists():
            raise SearchIndexError(f"There is no search index in {directory}.")
        if version_file.read_text().strip() != SCHEMA_VERSION:
            raise SearchIndexError(f"The search index in {directory} has an old schema.")
        try:
            ix = whoosh_index.open_dir(str(directory))
            index = cls(ix)
            index._searcher.search(Term("kind", "user"), limit=1)  # reads the segments: catches damage
            index._searcher.doc_count()
        except Exception as error:  # Whoosh raises many kinds of error for a damaged directory
            raise SearchIndexError(f"The search index in {directory} is damaged ({type(error).__name__}: {error}).") from None
        return index

    @classmethod
    def create(cls, directory: Path, documents=()) -> "SearchIndex":
        """A new index in ``directory`` (emptied first) holding ``documents``."""
        directory = Path(directory)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        ix = whoosh_index.create_in(str(directory), make_schema())
        writer = ix.writer(limitmb=256)
        for document in documents:
            writer.add_document(**document)
        writer.commit()
        (directory / VERSION_FILE).write_text(SCHEMA_VERSION)
        return cls(ix)

    def close(self) -> None:
        self._searcher.close()
        self._ix.close()

    def doc_count(self) -> int:
        return self._searcher.doc_count()

    def apply(self, batch: list[dict]) -> None:
        """Write a batch of events in one commit. Only the writer task calls this."""
        writer = self._ix.writer(timeout=WRITER_TIMEOUT)
        try:
            for event in batch:
                if event["type"] == events.USER:
                    writer.update_document(**user_document(event))
                elif event["type"] == events.ROOM:
                    writer.update_document(**room_document(event))
                elif event["type"] == events.USER_REMOVED:
                    writer.delete_by_term("key", f"user:{event['id']}")
                else:
                    writer.delete_by_term("key", f"room:{event['id']}")
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def refresh(self) -> None:
        # A new searcher rather than Searcher.refresh(): whoosh-ng 5.4's
        # refresh fails when the old reader had no segments.
        old, self._searcher = self._searcher, self._ix.searcher()
        self._user_cache = {}
        old.close()

    def search(self, query: str, *, user_id: str, co_member_ids, now: datetime, limit: int = 10) -> SearchResults:
        """Ranked users and rooms that ``user_id`` may see (see the package docstring).

        Privacy bounds what a person may find: their own rooms and the people
        in them, plus exact usernames. That scope is small, so it is read
        from the index first and ranked in full with the shared rules; only
        a scope larger than ``scope_scan_limit`` is narrowed by Whoosh's
        term, prefix and fuzzy queries first.
        """
        found = query_words(query)
        reachable = sorted(set(co_member_ids) | {user_id})
        if len(reachable) <= self.scope_scan_limit:
            people = [fields for fields in map(self._user_fields, reachable) if fields is not None]
        else:
            people = self._search(And([Or([Term("key", f"user:{i}") for i in reachable]), _text_query(found)]))
        # Only user documents have "exact": the username, so strangers are found by it alone.
        users = {hit.id: hit for hit in self._rank(self._search(Term("exact", " ".join(found))) + people, found, now)}
        my_rooms = self._search(Term("members", user_id), limit=self.scope_scan_limit + 1)
        if len(my_rooms) > self.scope_scan_limit:
            my_rooms = self._search(And([Term("members", user_id), _text_query(found)]))
        return SearchResults(users=sorted(users.values(), key=lambda hit: hit.match)[:limit],
                             rooms=self._rank(my_rooms, found, now)[:limit])

    # Above this many rooms or contacts, Whoosh's term, prefix and fuzzy
    # queries narrow the scope before the shared rules rank it.
    scope_scan_limit = 2000

    def _search(self, query, limit: int = CANDIDATES) -> list[dict]:
        return [result.fields() for result in self._searcher.search(query, limit=limit, scored=False)]

    def _user_fields(self, user_id: str) -> dict | None:
        """A user's stored fields, cached until the next commit: each key
        typed re-ranks the same contacts."""
        if user_id not in self._user_cache:
            self._user_cache[user_id] = self._searcher.document(key=f"user:{user_id}")
        return self._user_cache[user_id]

    @staticmethod
    def _rank(documents: list[dict], found: list[str], now: datetime) -> list[Hit]:
        hits = []
        for stored in documents:
            if stored.get("expires") is not None and stored["expires"] <= now.timestamp():
                continue  # expired, not yet swept: unreachable all the same
            best = _best_match(found, stored["name"], stored.get("display_name", ""))
            if best is not None:
                hits.append(Hit(stored["ident"], stored["name"], stored.get("display_name", ""), *best))
        hits.sort(key=lambda hit: hit.match)
        return hits
