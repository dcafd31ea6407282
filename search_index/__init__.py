"""Server-side search over usernames, display names and room names (Whoosh).

Fork: ``whoosh-ng`` (pinned in requirements.txt). The original ``whoosh``
(2.7.4, April 2016) is dead and gives 8 SyntaxWarnings on Python 3.14;
``whoosh-reloaded`` has had no release since 2.7.5 (February 2024) and
still gives one. ``whoosh-ng`` is maintained (5.4.0, August 2026, after
more than twenty releases), declares Python 3.11 to 3.14 (Pyodide is 3.14)
and compiles without warnings. It is marked beta and moves fast, so this
package uses only the classic Whoosh 2.7 API (fields, ``create_in`` /
``open_dir``, ``writer(timeout=...)``, Term/Prefix/FuzzyTerm), and
tests/test_search_index.py also passes on whoosh-reloaded 2.7.5: going
back is a one-line change in requirements.txt.

Who can find whom (privacy):

* Rooms: only rooms the searcher is a member of, and not expired. Each
  room's document carries its member ids, and every room query is ANDed
  with the searcher's id, so a non-member never sees a room, whatever the
  query.
* People: an exact username (folded: case, diacritics and punctuation
  ignored) always finds that person, so you can start a room with someone
  whose username you were given. Prefix and typo matches, and matches on
  display names, only find people who share a live room with the searcher.
  Nobody can list the users of the server by typing ``a``.

Ranking (rules in ``pyclient.search``, shared with the page's private
history search): exact, then every word equal, then prefix, then typos
(edit distance 1 to 2); case, diacritics (``đ`` → ``d``) and extra spaces are
ignored.

Updates: the index is a cache of the database, kept current by events
(``events.py``) put on one queue and applied by one writer task per process
(``IndexUpdater``). Room events carry the whole room (name, members,
expiry), so applying one twice, or a late one, leaves the same document;
with several processes each one applies the same events from the bus to
its own index. ``server.reindex.rebuild(config)`` recreates it from the database.
"""

from .events import room_event, room_removed_event, user_event
from .index import SearchIndex, SearchResults
from .rebuild import open_or_rebuild, replace_index
from .updater import IndexUpdater

__all__ = ["IndexUpdater", "SearchIndex", "SearchResults", "open_or_rebuild", "replace_index",
           "room_event", "room_removed_event", "user_event"]
