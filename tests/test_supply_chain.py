"""The supply chain: every installed package is pinned with hashes, and the
audit blocks a high-severity advisory (and only that)."""

import re
from pathlib import Path

from tools import audit

REPO = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """``name -> (version, number of hashes)`` from a pip-compile lock file."""
    entries, current = {}, None
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            current = _name(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, count = entries[current]
            entries[current] = (version, count + 1)
    return entries


def test_lock_file_pins_every_requirement_at_its_version_with_hashes():
    lock = locked(REPO / "requirements.lock")
    wanted = pins(REPO / "requirements.txt") | pins(REPO / "requirements-test.txt")
    assert {name: lock.get(name, ("missing", 0))[0] for name in wanted} == wanted, "run `make lock`"
    unhashed = [name for name, (_, hashes) in lock.items() if hashes == 0]
    assert not unhashed and len(lock) > len(wanted), unhashed


def test_browser_wheels_are_built_from_hashed_pins_that_match_the_server():
    browser, runtime = pins(REPO / "requirements-browser.txt"), pins(REPO / "requirements.txt")
    assert browser and all(runtime[name] == version for name, version in browser.items())
    lock = locked(REPO / "requirements-browser.lock")
    assert {name: version for name, (version, hashes) in lock.items() if hashes} == browser
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--require-hashes --wheel-dir $(WHEELS) -r requirements-browser.lock" in makefile


def test_audit_blocks_high_and_critical_findings_only():
    def finding(severity):
        return {"package": "x==1", "id": "GHSA-0000", "aliases": [], "fix": ["2"], "severity": severity}
    assert audit.decide([finding("low"), finding("medium")], {"moderate": 2}, [], strict=False)[0] is False
    assert audit.decide([finding("high")], {}, [], strict=False)[0] is True
    assert audit.decide([], {"critical": 1}, [], strict=False)[0] is True
    assert audit.decide([finding(None)], {}, [], strict=False)[0] is True  # severity unknown counts as high


def test_audit_that_could_not_ask_the_advisory_service_warns_and_fails_only_when_strict():
    fail, lines = audit.decide([], {}, ["npm packages: 405 Method Not Allowed"], strict=False)
    assert fail is False and lines == ["WARNING not audited: npm packages: 405 Method Not Allowed"]
    assert audit.decide([], {}, ["npm packages: 405"], strict=True)[0] is True


def test_audit_reads_the_pip_audit_and_npm_reports():
    findings, unaudited = audit.python_findings({"dependencies": [
        {"name": "aiohttp", "version": "3.0.0", "vulns": [
            {"id": "PYSEC-2024-1", "aliases": ["GHSA-abcd"], "fix_versions": ["3.9.4"], "description": "..."}]},
        {"name": "rsa", "skip_reason": "Dependency not found on PyPI and could not be audited: rsa (4.9.1)"},
        {"name": "pyaes", "version": "1.6.1", "vulns": []}]})
    assert findings == [{"package": "aiohttp==3.0.0", "id": "PYSEC-2024-1", "aliases": ["GHSA-abcd"],
                         "fix": ["3.9.4"]}]
    assert unaudited == ["rsa: Dependency not found on PyPI and could not be audited: rsa (4.9.1)"]
    assert audit.osv_severity({"database_specific": {"severity": "MODERATE"}}) == "medium"
    assert audit.osv_severity({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N"}]}) is None
    counts = {"metadata": {"vulnerabilities": {"info": 0, "low": 1, "moderate": 0, "high": 2, "critical": 0,
                                               "total": 3}}}
    assert audit.npm_outcome(counts) == ({"low": 1, "high": 2}, None)
    assert audit.npm_outcome({"message": "405 Method Not Allowed", "error": {"summary": "", "detail": ""}}) == (
        {}, "405 Method Not Allowed")

