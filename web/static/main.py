# PyScript entry point: everything else lives in the pyclient package.
import asyncio

from pyclient.browser.app import start

asyncio.ensure_future(start())
