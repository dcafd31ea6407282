"""The open room's messages as the page lays them out. Pure (no ``js``).

- **Ordering and paging.** Messages are known by ``seq`` (the server's order
  in the room). The same message can arrive twice (live, then in the catch-up
  after a reconnect, or in a page of history): it is shown once. History comes
  in pages of at most ``HISTORY_PAGE``, newest first; a shorter page is the
  room's first one, so no older page is asked for after it.
- **Day separators and runs.** A separator goes before the first message of
  each day (in the reader's time zone: the caller turns a time into a day). A
  run is a sender's consecutive messages on one day; the sender's name shows
  once, above the first message of the run. A message that failed its checks
  has no trustworthy sender, so it stands alone.

New messages go below the last one shown and older pages above the first, so
the layout needs only the two ends of what is on the page.
"""

from dataclasses import dataclass
from datetime import date, timedelta

HISTORY_PAGE = 200  # messages per page of /api/rooms/ID/messages (server.domain.rooms.HISTORY_PAGE)


@dataclass(frozen=True)
class Slot:
    """What the layout needs to know about one shown message."""
    day: date
    sender: str | None  # the verified sender's id; None when the message failed its checks

    def continues(self, earlier: "Slot") -> bool:
        """Whether this message continues ``earlier``'s run (same day, same known sender)."""
        return self.sender is not None and self.sender == earlier.sender and self.day == earlier.day


@dataclass(frozen=True)
class Layout:
    """How to place a batch of messages: one entry per message, in order."""
    separators: list[bool]  # a day separator goes before the message
    heads: list[bool]       # the message starts a run: its sender's name shows
    # For a page of older messages, placed above the first message shown so far:
    same_day_as_top: bool = False  # the old top message's day separator goes (its day began higher up)
    same_run_as_top: bool = False  # the old top message's sender name goes (its run began higher up)


class Timeline:
    """The messages of the open room that are on the page."""

    def __init__(self) -> None:
        self.seqs: set[int] = set()
        self.complete = False  # the first message of the room is on the page: no older page to ask for
        self.loading_older = False
        self._top: Slot | None = None
        self._bottom: Slot | None = None

    def fresh(self, messages: list[dict]) -> list[dict]:
        """The messages not on the page yet, oldest first; from now on they count as shown."""
        new = {}
        for message in messages:
            if message["seq"] not in self.seqs:
                new[message["seq"]] = message
        self.seqs.update(new)
        return [new[seq] for seq in sorted(new)]

    def page_loaded(self, messages: list[dict], page: int = HISTORY_PAGE) -> None:
        """After the newest page or an older one: a short page was the room's first."""
        self.complete = len(messages) < page

    def older_cursor(self) -> int | None:
        """The ``before=`` of the next older page, or None when there is none to ask for."""
        if self.complete or self.loading_older or not self.seqs:
            return None
        return min(self.seqs)

    def place(self, slots: list[Slot], *, older: bool = False) -> Layout:
        """Separators and run heads for ``slots`` (oldest first), placed at the bottom or, if ``older``, on top."""
        if not slots:
            return Layout([], [])
        separators, heads = [], []
        previous = None if older else self._bottom
        for slot in slots:
            separators.append(previous is None or slot.day != previous.day)
            heads.append(previous is None or not slot.continues(previous))
            previous = slot
        layout = Layout(separators, heads)
        if older and self._top is not None:
            layout = Layout(separators, heads, same_day_as_top=self._top.day == slots[-1].day,
                            same_run_as_top=self._top.continues(slots[-1]))
        if older or self._top is None:
            self._top = slots[0]
        if not older or self._bottom is None:
            self._bottom = slots[-1]
        return layout


TODAY, YESTERDAY, THIS_WEEK = "today", "yesterday", "this_week"
WEEK_DAYS = 6  # up to this many days back, a day is "this week": its weekday names it


def relative_day(day: date, today: date) -> str | None:
    """``"today"``, ``"yesterday"``, ``"this_week"`` (2 to 6 days ago), or None (the date says it).

    Both days are the reader's calendar days (their time zone), so "today"
    starts at the reader's midnight, not the server's.
    """
    if day == today:
        return TODAY
    if day == today - timedelta(days=1):
        return YESTERDAY
    if today - timedelta(days=WEEK_DAYS) <= day < today:
        return THIS_WEEK
    return None
