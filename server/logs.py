"""Log set-up for ``python -m server``: plain lines, or one JSON object a
line with SEALROOM_LOG_FORMAT=json for a log collector.

What the server logs is counts, ids of its own rows, durations and error
kinds. Message content, keys, passwords' auth keys, invite tokens and search
terms never reach a log call (tests/test_traffic.py checks the server's own
loggers; the access log's redaction of query strings is in the HTTP layer).
"""

import json
import logging
from datetime import datetime, timezone

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
