"""``python -m server``: serve SealRoom with the configuration from the environment."""

import logging
import sys

from aiohttp import web

from .app import create_app
from .config import Config, ConfigError
from .http.access_log import RedactingAccessLogger
from .http.pages import SetupError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_env()
        app = create_app(config)
    except (ConfigError, SetupError) as error:
        print(f"sealroom: {error}", file=sys.stderr)
        return 2
    print(f"SealRoom is running at http://{config.host}:{config.port}/ (data in {config.data_dir})", flush=True)
    web.run_app(app, host=config.host, port=config.port, print=None, access_log_class=RedactingAccessLogger)
    return 0


if __name__ == "__main__":
    sys.exit(main())
