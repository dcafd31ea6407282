"""Supply-chain audit, run by `make test` (through `make audit`).

    .venv/bin/python tools/audit.py

It fails (exit 1) only on a finding of high or critical severity, in the
Python lock files (pip-audit over requirements.lock and
requirements-browser.lock: every package pinned and hashed, nothing resolved
again) or in package-lock.json (`npm audit --audit-level=high`). Lower
severities are printed and pass. A finding whose severity cannot be learnt
counts as high: not knowing is no reason to ship it.

When an advisory service cannot be asked (an index mirror that does not
serve PyPI's per-version JSON, or npm's bulk advisory endpoint), the audit
says so loudly and passes, because no finding was made; set
SEALROOM_AUDIT_STRICT=1 (as CI should) to fail in that case too.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-browser.lock")
BLOCKING = {"high", "critical"}
OSV_URL = "https://api.osv.dev/v1/vulns/{}"


def python_findings(report: dict) -> tuple[list[dict], list[str]]:
    """``(findings, unaudited)`` from pip-audit's JSON report."""
    findings, unaudited = [], []
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            unaudited.append(f"{dependency['name']}: {dependency['skip_reason']}")
        for vuln in dependency.get("vulns", []):
            findings.append({"package": f"{dependency['name']}=={dependency.get('version')}", "id": vuln["id"],
                             "aliases": vuln.get("aliases", []), "fix": vuln.get("fix_versions", [])})
    return findings, unaudited


def osv_severity(record: dict) -> str | None:
    """The severity word an OSV record gives (GitHub advisories carry one)."""
    word = (record.get("database_specific") or {}).get("severity")
    if isinstance(word, str):
        return {"moderate": "medium"}.get(word.lower(), word.lower())
    return None


def npm_outcome(report: dict) -> tuple[dict, str | None]:
    """``(counts by severity, error)`` from `npm audit --json`."""
    if "error" in report:
        error = report["error"] if isinstance(report["error"], dict) else {}
        return {}, (error.get("summary") or report.get("message") or error.get("code")
                    or "npm audit failed")
    counts = (report.get("metadata") or {}).get("vulnerabilities") or {}
    return {name: count for name, count in counts.items() if name != "total" and count}, None


def decide(python: list[dict], npm_counts: dict, unaudited: list[str], strict: bool) -> tuple[bool, list[str]]:
    """``(fail, lines to print)``."""
    lines, fail = [], False
    for finding in python:
        severity = finding.get("severity") or "unknown"
        blocking = severity in BLOCKING or severity == "unknown"
        fail |= blocking
        lines.append(f"{'FAIL' if blocking else 'warn'} {finding['package']} {finding['id']} severity {severity}"
                     f" (fixed in {', '.join(finding['fix']) or 'no release yet'})")
    for severity, count in sorted(npm_counts.items()):
        blocking = severity in BLOCKING
        fail |= blocking
        lines.append(f"{'FAIL' if blocking else 'warn'} npm: {count} {severity} finding(s); see `npm audit`")
    for reason in unaudited:
        lines.append(f"{'FAIL' if strict else 'WARNING'} not audited: {reason}")
    fail |= strict and bool(unaudited)
    return fail, lines


def _lookup_severity(finding: dict) -> str | None:
    for identifier in [finding["id"], *finding["aliases"]]:
        try:
            with urllib.request.urlopen(OSV_URL.format(identifier), timeout=10) as response:
                severity = osv_severity(json.load(response))
        except (urllib.error.URLError, OSError, ValueError):
            continue
        if severity:
            return severity
    return None


def main() -> int:
    strict = os.environ.get("SEALROOM_AUDIT_STRICT") == "1"
    locks = [arg for lock in LOCKS for arg in ("-r", str(REPO / lock))]
    completed = subprocess.run(
        [sys.executable, "-m", "pip_audit", *locks, "--require-hashes", "--disable-pip", "--format", "json",
         "--progress-spinner", "off"], capture_output=True, text=True, cwd=REPO)
    try:
        python, unaudited = python_findings(json.loads(completed.stdout))
    except ValueError:
        python, unaudited = [], [f"pip-audit gave no report: {completed.stderr.strip()[-300:]}"]
    skipped = [reason for reason in unaudited if "could not be audited" in reason]
    if skipped:  # one line, not one per package: it is the index, not the packages
        unaudited = [reason for reason in unaudited if reason not in skipped]
        unaudited.append(f"{len(skipped)} Python packages: the index does not serve their advisory data "
                         f"(e.g. {skipped[0]})")
    for finding in python:
        finding["severity"] = _lookup_severity(finding)

    # --omit=dev: what ships to the browser; lighthouse (a dev dependency) only runs in `make bench`.
    npm = subprocess.run(["npm", "audit", "--json", "--audit-level=high", "--omit=dev"], capture_output=True, text=True,
                         cwd=REPO)
    try:
        npm_counts, npm_error = npm_outcome(json.loads(npm.stdout or "{}"))
    except ValueError:
        npm_counts, npm_error = {}, npm.stderr.strip()[-300:] or "npm audit gave no report"
    if npm_error:
        unaudited.append(f"npm packages: {npm_error}")

    fail, lines = decide(python, npm_counts, unaudited, strict)
    for line in lines:
        print(line)
    print("audit: " + ("FAILED" if fail else "passed: no high or critical finding"))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
