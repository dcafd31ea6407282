# PyScript entry point: everything else lives in the pyclient package.
import asyncio

from pyscript import RUNNING_IN_WORKER

from pyclient.browser.app import start

if RUNNING_IN_WORKER:
    # PyScript delivers the page's postMessage() to ``xworker.onmessage`` looked up
    # in this module's namespace (pyclient.browser.env sets the handler).
    from polyscript import xworker  # noqa: F401

asyncio.ensure_future(start())
