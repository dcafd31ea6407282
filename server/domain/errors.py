"""Domain errors, written for the person who reads them.

The HTTP and WebSocket adapters map these to status codes and error frames;
nothing else does that mapping.
"""


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__((message or "You are doing this too often.") + f" Wait {retry_after} seconds and try again.")
        self.retry_after = retry_after


class TooMany(DomainError):
    """A cap on things held at once (sockets, uploads in progress)."""

    code = "too_many"
