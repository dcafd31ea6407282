"""``GET /api/search?q=...``: people and rooms, ranked, with the matched spans.

    <- {users: [{id, name, display_name, match: {kind, field, spans, typos}}],
        rooms: [{id, name, display_name: null, match: {...}}]}

``kind`` is exact | words | prefix | fuzzy; ``spans`` are [start, end)
offsets into ``name`` (or ``display_name`` when ``field`` says so), in
characters. Rules and privacy: see ``search_index``.
"""

import asyncio

from aiohttp import web

from search_index import room_event, user_event
from search_index.index import QueryError

from .. import app_keys
from ..domain.errors import Invalid
from ..domain.search import active_user_ids, co_member_ids
from ..i18n import Message, _
from .common import ApiError, transaction, utcnow
from .sessions import authenticate
from .throttle import limit

routes = web.RouteTableDef()
STARTING_WAIT_SECONDS = 2.0  # how long a search waits for a start-up rebuild before a 503


@routes.get("/api/search")
async def search(request: web.Request) -> web.Response:
    user = await authenticate(request)
    await limit(request, "search", user.id, message=_("You are searching too fast."))
    query = request.query.get("q", "")
    now = utcnow(request)
    updater = request.app[app_keys.search]
    try:  # a large index is still being rebuilt at start-up: wait a little, then say so
        await asyncio.wait_for(updater.ready.wait(), STARTING_WAIT_SECONDS)
    except TimeoutError:
        raise ApiError("unavailable", _("Search is starting up. Try again in a minute."), status=503,
                       headers={"Retry-After": "30"}) from None
    async with transaction(request) as db:
        reachable = await co_member_ids(db, user.id, now=now)
    try:
        results = updater.index.search(query, user_id=user.id, co_member_ids=reachable, now=now)
    except QueryError as error:
        raise Invalid(Message(error.text, **error.values)) from None
    if results.users:  # the database is the truth: an account disabled by the CLI is gone at once
        async with transaction(request) as db:
            active = await active_user_ids(db, [hit.id for hit in results.users])
        results.users = [hit for hit in results.users if hit.id in active]
    return web.json_response(results.to_json())


async def index_user(app: web.Application, user) -> None:
    """Through the bus, so that every process's index hears it."""
    await app[app_keys.bus].publish_event(user_event(user.id, user.username, user.display_name))


async def index_room(app: web.Application, room, members) -> None:
    """After a room is created, renamed or its members change."""
    await app[app_keys.bus].publish_event(
        room_event(room.id, room.name, [member.id for member in members], room.expires_at))
