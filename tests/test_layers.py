"""Layers are kept by a test, not by memory (import contracts in pyproject.toml).

- ``server.domain`` never imports aiohttp or the HTTP layer;
- ``pyclient.protocol`` never imports ``js``, ``pyodide``, aiohttp or SQLAlchemy;
- the client's pure modules (``pyclient/*.py``) never import the browser;
- ``search_index`` never imports ``server``;
- the admin CLI never loads the web app;
- background jobs never import HTTP handlers.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER_ONLY = {"js", "pyodide", "pyscript"}  # not installed in CPython, so import-linter cannot see them: checked here
PURE_CLIENT_MODULES = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "pyclient").glob("*.py"))


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "5 kept" in result.stdout, result.stdout


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_protocol_and_server_never_import_the_browser():
    offenders = []
    # The client's pure modules (pyclient/*.py: rooms, timeline, messages, sending, unread, trust...)
    # are what CPython tests cover; only pyclient/browser/ may touch the page.
    for package in ("pyclient/protocol", "pyclient/crypto/pure.py", *PURE_CLIENT_MODULES, "server", "search_index"):
        paths = [ROOT / package] if package.endswith(".py") else sorted((ROOT / package).rglob("*.py"))
        for path in paths:
            if _imported_names(path) & BROWSER_ONLY:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
