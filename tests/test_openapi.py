"""The OpenAPI description stays true: every /api route is described, every
described path is routed, and real answers match its schemas."""

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from server.app import create_app
from server.http.openapi import DOCUMENT
from tests.helpers import page_csrf, register

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _routed(config) -> set[tuple[str, str]]:
    app = create_app(config)
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method in METHODS:
            found.add((route.method.lower(), path))
    return found


def _described() -> set[tuple[str, str]]:
    return {(method, path) for path, operations in DOCUMENT["paths"].items() for method in operations}


def test_openapi_document_is_valid():
    validate(DOCUMENT)


def test_every_api_route_is_described_and_every_description_is_routed(config):
    routed, described = _routed(config), _described()
    assert routed - described == set(), "routes missing from server/http/openapi.py"
    assert described - routed == set(), "described in server/http/openapi.py but not routed"


def test_path_parameters_match_the_route_placeholders():
    for path, operations in DOCUMENT["paths"].items():
        placeholders = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == placeholders, (method, path)


async def test_openapi_is_served_without_a_session(client):
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert await response.json() == DOCUMENT


def _schema(schema: dict) -> dict:
    """A component schema with its $refs resolvable by jsonschema."""
    return {**schema, "components": DOCUMENT["components"]}


def _response_schema(path: str, method: str, status: int) -> dict:
    responses = DOCUMENT["paths"][path][method]["responses"]
    chosen = responses.get(str(status)) or responses["default"]
    return _schema(chosen["content"]["application/json"]["schema"])


def _check(data, schema) -> None:
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path, status", [("/api/no-such-thing", 404), ("/api/rooms", 401)])
async def test_error_answers_match_the_error_schema(client, path, status):
    response = await client.get(path)
    assert response.status == status
    _check(await response.json(), _schema(DOCUMENT["components"]["schemas"]["Error"]))


async def test_real_answers_match_their_schemas(client):
    csrf = await page_csrf(client)
    response = await client.post("/api/register", json={"username": "alice", "auth_key": "A" * 44},
                                 headers={"X-CSRF-Token": csrf})
    _check(await response.json(), _response_schema("/api/register", "post", 201))
    await client.close()


async def test_signed_in_answers_match_their_schemas(client, new_client):
    alice = await register(client, "alice", 0)
    await register(await new_client(), "bob", 1)
    response = await alice.post("/api/rooms", {"name": "Plans", "members": ["bob"]})
    room = await response.json()
    _check(room, _response_schema("/api/rooms", "post", 201))
    room_id = room["room"]["id"]
    for path, template in (("/api/me", "/api/me"), ("/api/rooms", "/api/rooms"), ("/api/sessions", "/api/sessions"),
                           (f"/api/rooms/{room_id}", "/api/rooms/{room_id}"),
                           (f"/api/rooms/{room_id}/messages", "/api/rooms/{room_id}/messages"),
                           ("/api/me/key-backup", "/api/me/key-backup")):
        response = await client.get(path)
        assert response.status == 200, path
        _check(await response.json(), _response_schema(template, "get", 200))
