"""The access log, with secrets taken out of the URLs it records.

An invite link (``/?invite=TOKEN``) lets anyone holding it join a room, and a
search query (``/api/search?q=...``) says whom a user looks for: neither may
sit in a log file. The line keeps the parameter's name, so the log still
shows what kind of request it was.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp.web_log import AccessLogger

SECRET_PARAMETERS = frozenset({"invite", "q", "token"})
REDACTED = "REDACTED"


def redact_url(url: str) -> str:
    """``url`` (a path with its query, or a whole URL) without secret parameter values."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    redacted = [(name, REDACTED if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs]
    return urlunsplit(parts._replace(query=urlencode(redacted, safe=REDACTED)))


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access log (``web.run_app(access_log_class=...)``) with ``redact_url``
    applied to the request line and to the Referer."""

    def _format_line(self, request, response, time):
        line = []
        for key, value in super()._format_line(request, response, time):
            if request is not None and key == "first_request_line":
                value = (f"{request.method} {redact_url(request.path_qs)} "
                         f"HTTP/{request.version.major}.{request.version.minor}")
            elif isinstance(key, tuple) and key[1].lower() == "referer" and isinstance(value, str):
                value = redact_url(value)
            line.append((key, value))
        return line
