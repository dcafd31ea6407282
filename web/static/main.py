# PyScript entry point: everything else lives in the pyclient package.
import asyncio
import sys

import js
from pyodide.ffi import to_js
from pyscript import RUNNING_IN_WORKER

# `make bench` reads these marks (web/boot.mjs leaves the earlier ones), and
# the modules imported here other than the client's own: each one is compiled
# from source at every start because Pyodide's snapshot lacks it (server/vendor.py).
js.performance.mark("boot:main")
_before = set(sys.modules)
from pyclient.browser.app import start  # noqa: E402

_outside = sorted(name for name in set(sys.modules) - _before if name.split(".")[0] != "pyclient")
js.performance.mark("boot:imported", to_js({"detail": _outside}, dict_converter=js.Object.fromEntries))

if RUNNING_IN_WORKER:
    # PyScript delivers the page's postMessage() to ``xworker.onmessage`` looked up
    # in this module's namespace (pyclient.browser.env sets the handler).
    from polyscript import xworker  # noqa: F401

asyncio.ensure_future(start())
