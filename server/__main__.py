"""``python -m server``: serve SealRoom with the configuration from the environment."""

import os
import sys

from aiohttp import web

from .app import create_app
from .config import Config, ConfigError
from .http.pages import SetupError
from .logs import setup_logging


def main() -> int:
    setup_logging(os.environ.get("SEALROOM_LOG_FORMAT", "plain"))
    try:
        config = Config.from_env()
        app = create_app(config)
    except (ConfigError, SetupError) as error:
        print(f"sealroom: {error}", file=sys.stderr)
        return 2
    print(f"SealRoom is running at http://{config.host}:{config.port}/ (data in {config.data_dir})", flush=True)
    # SIGTERM: stop listening, close sockets with 1001 (http/ws.py close_all), give
    # requests in flight shutdown_seconds, then cancel them; an upload part cut
    # off leaves no partial file and is sent again, to any process.
    web.run_app(app, host=config.host, port=config.port, print=None, shutdown_timeout=config.shutdown_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
