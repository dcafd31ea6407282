"""SealRoom client: protocol, crypto backends and browser adapters.

The same package runs in CPython (tests, CLI) and in Pyodide (the web page).
Only ``pyclient.browser`` and ``pyclient.crypto.webcrypto`` touch the browser.
"""
