"""Which toast the page shows, and until when. Pure: the caller passes the time.

One toast is on screen at a time (``#toast``, announced through aria-live).
A toast that arrives while another is shown waits its turn, so a burst of
outcomes loses none of the newest: the shown one stays at least ``LEAST``
seconds, so a screen reader can finish it, then gives way; the last one keeps
its full time. The same words twice are one toast. At most ``WAITING`` wait;
beyond that the oldest waiting one is dropped (the newest outcome matters most).
"""

from dataclasses import dataclass

LEAST = 2.5   # seconds a toast stays before a waiting one replaces it
WAITING = 3   # toasts that can wait behind the shown one


@dataclass
class Shown:
    text: str
    since: float
    until: float


class ToastQueue:
    def __init__(self, least: float = LEAST, limit: int = WAITING) -> None:
        self.least, self.limit = least, limit
        self.shown: Shown | None = None
        self.waiting: list[tuple[str, float]] = []  # (text, seconds)

    def push(self, text: str, seconds: float, now: float) -> bool:
        """A new toast; True if it is on screen now (else it waits, or was already there)."""
        if self.shown is None:
            self.shown = Shown(text, now, now + seconds)
            return True
        if self.shown.text == text:  # the same outcome again: one toast, shown for long enough
            self.shown.until = max(self.shown.until, now + seconds)
            return False
        if all(waiting != text for waiting, _ in self.waiting):
            self.waiting.append((text, seconds))
            del self.waiting[:-self.limit]
        return False

    def due(self) -> float | None:
        """When the shown toast gives way (to the next one, or to nothing)."""
        if self.shown is None:
            return None
        if self.waiting:
            return min(self.shown.until, self.shown.since + self.least)
        return self.shown.until

    def next(self, now: float) -> str | None:
        """Time is up for the shown toast: the next one's text, or None to hide."""
        if not self.waiting:
            self.shown = None
            return None
        text, seconds = self.waiting.pop(0)
        self.shown = Shown(text, now, now + seconds)
        return text
