"""The crypto core inside real Chromium, on the test page (SEALROOM_TEST_PAGES=1).

The page runs in the same Pyodide, with the same pyclient and the same CSP,
as the app; only the page around it differs.
"""

import json

import pytest

from .conftest import start_server

LONG_TASK_BUDGET_MS = 200
RUN_TIMEOUT_MS = 240_000


@pytest.fixture
def server(tmp_path):
    """Overrides conftest's server: the same server with the test pages mounted."""
    server = start_server(tmp_path / "data", tmp_path / "server.log", SEALROOM_TEST_PAGES="1")
    yield server
    server.stop()


def run_page(person, mode: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"run": mode, **params}.items())
    person.page.goto(f"{person.server.url}/test/crypto.html?{query}")
    person.page.locator("body[data-done]").wait_for(timeout=RUN_TIMEOUT_MS)
    if person.page.get_attribute("body", "data-done") != "ok":
        pytest.fail("the page failed:\n" + person.page.text_content("#error"))
    return json.loads(person.page.text_content("#results"))


def test_every_vector_gives_its_expected_outcome_on_both_backends_in_chromium(people):
    results = run_page(people("tester"), "vectors")
    assert len(results) >= 20
    for name, result in results.items():
        assert (result["pure"], result["webcrypto"]) == (result["expect"], result["expect"]), name


def test_each_backend_opens_what_the_other_made_in_chromium(people):
    results = run_page(people("tester"), "cross")
    rows = results["rows"]
    failed = [row for row in rows if not row["ok"]]
    assert failed == [], f"seed {results['seed']}: {failed}"
    checks = {"aes_ctr", "hmac_sha256", "hkdf_sha256", "pbkdf2_sha256", "pkcs1v15_sha256", "rsa_oaep",
              "envelope", "keystore"}
    assert {row["check"] for row in rows} == checks
    for check in checks:
        combinations = {(row["producer"], row["consumer"]) for row in rows if row["check"] == check}
        assert combinations == {("pure", "pure"), ("pure", "webcrypto"), ("webcrypto", "pure"),
                                ("webcrypto", "webcrypto")}, check


def test_key_generation_and_a_32_mb_encryption_never_block_the_main_thread(people):
    results = run_page(people("tester"), "longtasks", mb=32)
    assert results["ciphertext_bytes"] == 32 * 1024 * 1024 and results["mac_bytes"] == 32
    assert results["tasks"], "the observer recorded no long task at all, not even Pyodide's start-up"
    during = [task for task in results["tasks"]
              if task["start"] + task["duration"] >= results["start"] and task["start"] <= results["end"]]
    too_long = [task for task in during if task["duration"] > LONG_TASK_BUDGET_MS]
    assert too_long == [], f"main-thread tasks over {LONG_TASK_BUDGET_MS} ms: {too_long} ({results})"


def test_the_pure_fallback_runs_in_a_worker_and_leaves_the_main_thread_free(people):
    results = run_page(people("tester"), "worker", bits=2048)
    assert [row for row in results["rows"] if not row["ok"]] == [], results["rows"]
    during = [task for task in results["tasks"]
              if task["start"] + task["duration"] >= results["start"] and task["start"] <= results["end"]]
    assert [task for task in during if task["duration"] > LONG_TASK_BUDGET_MS] == [], results
