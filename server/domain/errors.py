"""Domain errors, written for the person who reads them.

The HTTP and WebSocket adapters map these to status codes and error frames;
nothing else does that mapping. A message is a ``server.i18n.Message``
(``_("...", name=...)``): ``message`` is its English text, and the adapters
translate ``text`` for the reader.
"""

from ..i18n import Message, _, as_message, ngettext


class DomainError(Exception):
    code = "error"

    def __init__(self, message: Message | str):
        self.text = as_message(message)
        self.message = str(self.text)
        super().__init__(self.message)


class Invalid(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class AuthFailed(DomainError):
    code = "auth_failed"


class Gone(DomainError):
    code = "gone"


class StaleMembers(DomainError):
    code = "stale_members"


class TooLarge(DomainError):
    code = "too_large"


class RateLimited(DomainError):
    """Too many of one action: ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"

    def __init__(self, retry_after: int, message: Message | None = None):
        super().__init__(ngettext("{reason} Wait {count} second and try again.",
                                  "{reason} Wait {count} seconds and try again.", retry_after,
                                  reason=message or _("You are doing this too often.")))
        self.retry_after = retry_after


class TooMany(DomainError):
    """A cap on things held at once (sockets, uploads in progress)."""

    code = "too_many"
