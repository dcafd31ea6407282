"""What the client does after the server refuses a message (pyclient.sending), without sockets."""

import pytest

from pyclient.sending import RATE_LIMIT_WAIT_SECONDS, Resend, SendRefused, after_reply, deliver

SENT = {"type": "sent", "ref": "m1", "seq": 7}
STALE = {"type": "error", "ref": "m1", "error": "stale_members", "message": "The room's members changed."}


def rate_limited(seconds):
    return {"type": "error", "ref": "m1", "error": "rate_limited", "message": "Slow down.", "retry_after": seconds}


def test_stored_needs_nothing_more():
    assert after_reply(SENT, members_refreshed=False) is None


def test_stale_members_are_reloaded_once_then_the_refusal_stands():
    assert after_reply(STALE, members_refreshed=False) == Resend(refresh_members=True)
    with pytest.raises(SendRefused) as refused:
        after_reply(STALE, members_refreshed=True)
    assert refused.value.code == "stale_members" and refused.value.message == "The room's members changed."


def test_a_short_rate_limit_is_waited_out_and_a_long_one_is_the_persons_to_decide():
    assert after_reply(rate_limited(2.5), members_refreshed=True) == Resend(wait=2.5)
    for seconds in (RATE_LIMIT_WAIT_SECONDS + 1, 0, None, "soon"):
        with pytest.raises(SendRefused):
            after_reply(rate_limited(seconds), members_refreshed=False)


def test_any_other_refusal_is_final():
    with pytest.raises(SendRefused) as refused:
        after_reply({"type": "error", "error": "forbidden", "message": "Not a member."}, members_refreshed=False)
    assert refused.value.message == "Not a member."


class Server:
    """Answers each attempt from a script, and records what the client did (a fake records, it does not mock)."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.events = []

    async def attempt(self):
        self.events.append("send")
        return self.replies.pop(0)

    async def refresh_members(self):
        self.events.append("members")

    async def wait(self, seconds):
        self.events.append(f"wait {seconds}")


async def test_deliver_reseals_after_new_members_and_waits_out_rate_limits():
    server = Server(STALE, rate_limited(1), STALE)
    with pytest.raises(SendRefused):  # the members changed twice: the person is told
        await deliver(server.attempt, refresh_members=server.refresh_members, wait=server.wait)
    assert server.events == ["send", "members", "send", "wait 1.0", "send"]

    server = Server(rate_limited(3), STALE, SENT)
    assert await deliver(server.attempt, refresh_members=server.refresh_members, wait=server.wait) == SENT
    assert server.events == ["send", "wait 3.0", "send", "members", "send"]
