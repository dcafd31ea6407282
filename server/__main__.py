"""``python -m server``: serve SealRoom with the configuration from the environment."""

import logging
import os
import sys

from aiohttp import web

from .app import create_app
from .config import Config, ConfigError
from .faults import StartupError, check_data_dir, describe_startup_failure
from .http.access_log import RedactingAccessLogger
from .http.pages import SetupError
from .logs import setup_logging


# How long a thread may hold the GIL while another waits for it (CPython's default is 5 ms).
# The database driver runs in its own thread (aiosqlite), and every query hands off to it and
# back; with 1,000 busy sockets on the event loop each hand-off waited up to 5 ms for the GIL,
# so storing one message took tens of ms. bench_fanout, 1,000 clients on one process: p99
# 2,247 ms -> 179 ms in two-person rooms, 256 ms -> 53 ms in one room, and less CPU a delivery.
GIL_SWITCH_INTERVAL = 0.0001


def main() -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    setup_logging(os.environ.get("SEALROOM_LOG_FORMAT", "plain"))
    try:
        config = Config.from_env()
        check_data_dir(config)
        app = create_app(config)
    except (ConfigError, SetupError, StartupError) as error:
        print(f"sealroom: {error}", file=sys.stderr)
        return 2
    print(f"SealRoom is running at http://{config.host}:{config.port}/ (data in {config.data_dir})", flush=True)
    # SIGTERM: stop listening, close sockets with 1001 (http/ws.py close_all), give
    # requests in flight shutdown_seconds, then cancel them; an upload part cut
    # off leaves no partial file and is sent again, to any process.
    try:
        web.run_app(app, host=config.host, port=config.port, print=None, access_log_class=RedactingAccessLogger,
                    shutdown_timeout=config.shutdown_seconds)
    except Exception as error:  # a fault while starting (the database, the disk): one sentence, not a traceback
        message = describe_startup_failure(error, config)
        if message is None:
            raise
        logging.getLogger("sealroom").debug("start-up failed", exc_info=True)
        print(f"sealroom: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
