"""Server-side search over usernames, display names and room names.

Fork: ``whoosh-reloaded`` 2.7.5 (pinned in requirements.txt), chosen over
``whoosh-ng`` 5.4.0 after comparing them here (December 2026):

* Maintenance: whoosh-reloaded is the classic Whoosh 2.7 kept alive by an
  organisation (Sygil-Dev), marked Production/Stable; it changes rarely (last
  release February 2024), which is what a document store under a security
  property (expiry is deletion) wants. whoosh-ng is a one-person beta that
  moves fast (27 releases, four major versions).
* Install footprint: whoosh-reloaded installs ``whoosh`` alone (5.4 MB with
  cached-property). whoosh-ng installs 8.8 MB: ``whoosh`` plus
  ``whoosh_modern`` (2.7 MB), ``whoosh_fastapi``, ``whoosh_admin`` and a
  ``whoosh-ng-models`` script, none of which SealRoom uses: more code on the
  server's import path for nothing.
* The search tests (test_search_index, test_search_relevance,
  test_search_matcher: 103 tests) pass on both. whoosh-reloaded compiles
  with one DeprecationWarning (an escape in ``whoosh/support/pyparsing.py``,
  the query parser, which this package never imports); whoosh-ng with none.

Only the classic API is used (``create_in`` / ``open_dir``,
``writer(timeout=...)``, ``update_document``, ``delete_by_term``,
``all_stored_fields``), so either fork works: switching is one line in
requirements.txt, and CI runs the search tests on the pinned one
(tests/test_search_index.py checks the pin is what is installed).

Who can find whom (privacy):

* Rooms: only rooms the searcher is a member of, and not expired. Each
  room's document carries its member ids and the searcher's scope holds only
  the rooms that list them, so a non-member never sees a room, whatever the
  query.
* People, by display name or by a prefix or typo of a username: only people
  who share a live room with the searcher.
* Strangers: only by their exact username (folded: case, diacritics and
  punctuation ignored), so you can start a room with someone whose username
  you were given; the result then carries the username alone, never the
  stranger's display name. Nobody can list the users of the server by typing
  ``a``. Disabled and deleted accounts are never returned.

Matching and ranking: the rules in ``pyclient.search`` (NFC then folding,
joined words, typos by word length, Telex/VNI leftovers; exact, then
prefix, then fuzzy, the diacritic-exact spelling first within a tier), then
relationship (rooms shared, then the newest shared room), then id: never
code point order.

Storage and speed: Whoosh keeps the documents on disk (segments, deletions,
a lock shared by processes); ``directory.py`` keeps them in memory too and
answers queries from the searcher's scope, cached per searcher and kept
across commits (only scopes an event touched are rebuilt).

Updates: the index is a cache of the database, kept current by events
(``events.py``) put on one queue and applied by one writer task per process
(``IndexUpdater``). Room events carry the whole room (name, members,
expiry), so applying one twice, or a late one, leaves the same document;
with several processes each one applies the same events from the bus to
its own index. At start-up the index is opened, or rebuilt from the
database, in the background: the server serves meanwhile.
``server.reindex.rebuild(config)`` recreates it from the database.
"""

from .events import room_event, room_removed_event, user_event, user_removed_event
from .index import SearchIndex, SearchResults
from .rebuild import open_or_rebuild, replace_index
from .updater import IndexUpdater

__all__ = ["IndexUpdater", "SearchIndex", "SearchResults", "open_or_rebuild", "replace_index",
           "room_event", "room_removed_event", "user_event", "user_removed_event"]
