"""The Whoosh index on disk, the people and rooms in memory, and queries."""

import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, NUMERIC, STORED, Schema
from whoosh.reading import SegmentReader
from whoosh.writing import MERGE_SMALL

from pyclient.search import words

from . import events
from .directory import Directory, Hit, ScopeCache, best_match
from .errors import SearchIndexError

# Bump when the schema changes: an index with another version is rebuilt at start-up.
SCHEMA_VERSION = "2"
VERSION_FILE = "sealroom-schema-version"
WRITER_TIMEOUT = 30.0  # seconds to wait for the lock if another writer holds it
MAX_QUERY_CHARS = 100
MAX_QUERY_WORDS = 8

__all__ = ["Hit", "QueryError", "SearchIndex", "SearchResults", "query_words", "room_document", "user_document"]


def make_schema() -> Schema:
    # Whoosh keeps the documents (segments, deletions, a lock shared by
    # processes); matching runs on the searcher's scope in memory (directory.py).
    return Schema(
        key=ID(unique=True, stored=True),         # "user:ID" or "room:ID"
        kind=ID(stored=True),                     # "user" or "room"
        ident=ID(stored=True),                    # the user's or room's id
        name=STORED(),                            # username or room name, as written (NFC)
        display_name=STORED(),                    # users: display name or ""
        members=STORED(),                         # rooms: member user ids
        expires=NUMERIC(bits=64, stored=True),    # rooms: epoch seconds
    )


def _nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "")


def user_document(event: dict) -> dict:
    return {"key": f"user:{event['id']}", "kind": "user", "ident": event["id"], "name": _nfc(event["username"]),
            "display_name": _nfc(event["display_name"])}


def room_document(event: dict) -> dict:
    return {"key": f"room:{event['id']}", "kind": "room", "ident": event["id"], "name": _nfc(event["name"]),
            "members": list(event["members"]), "expires": int(event["expires_at"])}


def _event(stored: dict) -> dict:
    """The event a stored document came from, to load the directory."""
    if stored["kind"] == "user":
        return events.user_event(stored["ident"], stored["name"], stored.get("display_name") or None)
    return {"type": events.ROOM, "id": stored["ident"], "name": stored["name"], "members": stored["members"],
            "expires_at": stored["expires"]}


@dataclass
class SearchResults:
    users: list[Hit] = field(default_factory=list)
    rooms: list[Hit] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"users": [hit.to_json() for hit in self.users], "rooms": [hit.to_json() for hit in self.rooms]}


def N_(text: str) -> str:
    """Marks a sentence for the translators (``make i18n``); the server translates it."""
    return text


class QueryError(ValueError):
    """Why a search cannot run: ``text`` in English with ``{}`` fields from ``values``."""

    def __init__(self, text: str, **values):
        super().__init__(text.format(**values))
        self.text, self.values = text, values


def query_words(query: str) -> list[str]:
    if not isinstance(query, str) or not query.strip():
        raise QueryError(N_("Type something to search for."))
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(N_("Searches are at most {limit} characters."), limit=MAX_QUERY_CHARS)
    found = words(unicodedata.normalize("NFC", query))
    if not found:
        raise QueryError(N_("Search for letters or digits: punctuation alone matches nothing."))
    if len(found) > MAX_QUERY_WORDS:
        raise QueryError(N_("Searches are at most {limit} words."), limit=MAX_QUERY_WORDS)
    return found


def merge_out_deleted(writer, segments):
    """Whoosh's usual merge, then every segment that still holds deleted
    documents is rewritten without them.

    Whoosh only flags a deleted document: its stored fields (a room's name,
    id and member ids) and its terms stay in the ``.seg`` file until that
    segment is merged. A removed room must leave the files at once (expiry
    is deletion), so a commit that removes a room rewrites those segments;
    the old files are deleted when the new table of contents is written.
    """
    kept = []
    for segment in MERGE_SMALL(writer, segments):
        if segment.has_deletions():
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)  # copies the live documents only
            reader.close()
        else:
            kept.append(segment)
    return kept


def write_events(ix, batch: list[dict]) -> None:
    """Apply checked events to a Whoosh index in one commit."""
    writer = ix.writer(timeout=WRITER_TIMEOUT)
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


class SearchIndex:
    """One Whoosh index directory and its documents in memory. Writes go
    through ``apply`` from one writer; the memory copy follows each event."""

    def __init__(self, ix) -> None:
        self._ix = ix
        self.directory = Directory()
        with ix.searcher() as searcher:
            for stored in searcher.all_stored_fields():
                self.directory.apply(events.parse_event(_event(stored)))
        self.scopes = ScopeCache(self.directory)

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
            return cls(whoosh_index.open_dir(str(directory)))
        except Exception as error:  # Whoosh raises many kinds of error for a damaged directory
            raise SearchIndexError(f"The search index in {directory} is damaged ({type(error).__name__}: {error}).") from None

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
        self._ix.close()

    def doc_count(self) -> int:
        with self._ix.searcher() as searcher:
            return searcher.doc_count()

    def apply(self, batch: list[dict]) -> None:
        """Write a batch of events in one commit. Only the writer task calls this."""
        write_events(self._ix, batch)

    def refresh(self, batch: list[dict]) -> None:
        """After ``apply``: the memory copy follows, and only the scopes the batch touched are dropped
        (at once, so that no cached scope keeps the name of a room that expired)."""
        before = self.directory.generation
        for event in batch:
            self.directory.apply(event)
        self.scopes.forget(self.directory.changed_since(before))

    def expired_room_ids(self, now: datetime) -> list[str]:
        """Rooms in the index whose expiry has passed: whoever deleted their
        rows (a sweep in another process, ``purge-expired``), they leave here too."""
        moment = now.timestamp()
        return [room.id for room in self.directory.places.values() if room.expires <= moment]

    def has_deleted_documents(self) -> bool:
        return any(segment.has_deletions() for segment in self._ix._segments())

    def forget_deleted(self) -> None:
        """Rewrite the segments that hold deleted documents (see ``merge_out_deleted``).
        Only the writer task calls this."""
        writer = self._ix.writer(timeout=WRITER_TIMEOUT)
        writer.commit(mergetype=merge_out_deleted)

    def search(self, query: str, *, user_id: str, co_member_ids, now: datetime, limit: int = 10) -> SearchResults:
        """Ranked users and rooms that ``user_id`` may see (see the package docstring)."""
        found = query_words(query)
        scope = self.scopes.scope(user_id, co_member_ids)
        users, rooms = scope.search(unicodedata.normalize("NFC", query), found, now.timestamp())
        stranger_id = self.directory.by_username.get(" ".join(found))
        if stranger_id is not None and stranger_id not in scope.contact_ids and stranger_id != user_id:
            # Only the username: a stranger's display name stays hidden.
            stranger = self.directory.people[stranger_id]
            best = best_match(found, None, (stranger.username, "name"))
            if best is not None:
                users.append(Hit(stranger.id, stranger.username, "", *best))
        users.sort(key=Hit.sort_key)
        rooms.sort(key=Hit.sort_key)
        return SearchResults(users=users[:limit], rooms=rooms[:limit])

