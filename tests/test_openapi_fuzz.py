"""schemathesis against the OpenAPI description: generated and mutated
requests for every described operation, signed in, against a real server
process. Expect no 500 and, for every error, the one JSON error shape
(issue 9: fuzzing). Sign-up, sign-in and sign-out are left out: they would
end the session the others use (tests/test_hardening_fuzz.py covers them)."""

import asyncio
import base64
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from pyclient.crypto.pure import PureBackend
from pyclient.protocol.key_proof import sign_key_proof
from server.http.openapi import DOCUMENT
from tests.browser.conftest import start_server
from tests.helpers import b64, fixed_keypair

SESSION_CHANGING = r"^/api/(register|login|logout)$"
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path_regex=SESSION_CHANGING)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A server process and a signed-in ``requests`` session with its CSRF token."""
    directory = tmp_path_factory.mktemp("fuzz")
    server = start_server(directory / "data", directory / "server.log", SEALROOM_AUTH_ATTEMPTS="1000")
    session = requests.Session()
    page = session.get(server.url + "/", timeout=10).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    reply = session.post(server.url + "/api/register", json={"username": "fuzzer", "auth_key": "F" * 44},
                         headers={"X-CSRF-Token": csrf}, timeout=30)
    assert reply.status_code == 201, reply.text
    user_id, csrf = reply.json()["user"]["id"], reply.json()["csrf"]
    headers = {"X-CSRF-Token": csrf}
    # A key and a room, so that generated requests get past "create your key first" and "no such room".
    private_key, public_key = fixed_keypair(0)
    challenge = session.post(server.url + "/api/me/key/challenge", headers=headers, timeout=10).json()["challenge"]
    proof = asyncio.run(sign_key_proof(PureBackend(), private_key, user_id=user_id,
                                       challenge=base64.b64decode(challenge), public_key=public_key))
    reply = session.put(server.url + "/api/me/key", json={"public_key": b64(public_key), "proof": b64(proof)},
                        headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    reply = session.post(server.url + "/api/rooms", json={"name": "Fuzz"}, headers=headers, timeout=10)
    assert reply.status_code == 201, reply.text
    yield server, session, csrf, {"room_id": reply.json()["room"]["id"]}
    session.close()
    server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_generated_requests_never_500_and_errors_have_one_shape(case, live):
    server, session, csrf, known = live
    for name, value in known.items():  # a real room, so the handler's own checks run
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    response = case.call(base_url=server.url, session=session, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) - {"retry_after"} == {"code", "message"} and error["message"], response.text
        if "retry_after" in error:  # rate limited (or disk full): the body repeats the header
            assert error["retry_after"] == int(response.headers["Retry-After"]), response.text
