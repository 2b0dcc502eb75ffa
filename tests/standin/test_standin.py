"""The Slack stand-in, driven by slack_sdk's real async clients over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from standin.limits import METHOD_TIERS, ManualClock, RateLimits
from standin.server import SlackStandIn
from standin.spec import ApiSpec, find_spec_path

ALICE = "U0ALICE"
BOB = "U0BOB"
KENJI = "U0KENJI"


@pytest.fixture(scope="session")
def api_spec() -> ApiSpec:
    """Slack's published spec, from the facts table derived from it (standin/slack_facts.json)."""
    return ApiSpec.load()


@pytest.fixture
async def standin(api_spec: ApiSpec) -> AsyncIterator[SlackStandIn]:
    """A running stand-in with three people; it must never answer outside the spec's response shapes."""
    server = SlackStandIn(spec=api_spec, validate_responses=True)
    server.add_user(ALICE, name="alice", real_name="Alice Example", email="alice@example.com")
    server.add_user(BOB, name="bob", real_name="Bob Example", tz="Europe/London")
    server.add_user(KENJI, name="kenji", real_name="山田 健二", tz="Asia/Tokyo", locale="ja-JP")
    await server.start()
    yield server
    await server.stop()
    assert server.schema_problems == []


@pytest.fixture
def client(standin: SlackStandIn) -> AsyncWebClient:
    """slack_sdk's client with the bot token, pointed at the stand-in."""
    return AsyncWebClient(token=standin.bot_token, base_url=standin.api_url)


async def _error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value


# ------------------------------------------------------------------------- spec


def test_spec_marks_required_arguments_and_knows_new_methods(api_spec: ApiSpec) -> None:
    assert "chat.postMessage" in api_spec.spec_methods
    assert "files.getUploadURLExternal" not in api_spec.spec_methods
    assert api_spec.knows("files.getUploadURLExternal")
    assert api_spec.required_args("chat.postMessage") == {"channel"}
    assert api_spec.required_args("conversations.create") == {"name"}  # from the supplement
    assert api_spec.required_args("views.open") == {"trigger_id", "view"}
    assert api_spec.required_args("bookmarks.add") == {"channel_id", "title", "type"}
    assert api_spec.required_args("apps.connections.open") == frozenset()
    assert not api_spec.accepts_json("users.info")
    assert api_spec.accepts_json("chat.postMessage")


def test_spec_response_walker_finds_missing_keys(api_spec: ApiSpec) -> None:
    problems = api_spec.response_problems("chat.postMessage", {"ok": True, "channel": "C1", "ts": "1.2"})
    assert problems == ["$: missing 'message'"]
    bad_user = {
        "ok": True,
        "user": {"id": "U1", "name": "x", "is_bot": False, "updated": 1, "is_app_user": False},
    }
    assert any("profile" in problem for problem in api_spec.response_problems("users.info", bad_user))


def test_find_spec_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text("{}")
    monkeypatch.setenv("HASHI_SLACK_SPEC", str(spec_file))
    assert find_spec_path() == spec_file
    monkeypatch.setenv("HASHI_SLACK_SPEC", str(tmp_path / "absent.json"))
    assert find_spec_path() is None


# ------------------------------------------------------------------------- shape checks and auth


async def test_unknown_method_is_rejected_and_recorded(standin: SlackStandIn, client: AsyncWebClient) -> None:
    error = await _error_of(client.api_call("chat.postMesage", json={"channel": "C1", "text": "hi"}))
    assert error.response.status_code == 404
    assert error.response["error"] == "unknown_method"
    assert [(r.method, r.error) for r in standin.rejections] == [("chat.postMesage", "unknown_method")]
    assert standin.calls[-1].http_status == 404


async def test_missing_required_argument_is_rejected(standin: SlackStandIn, client: AsyncWebClient) -> None:
    error = await _error_of(client.api_call("chat.postMessage", json={"text": "no channel"}))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]
    error = await _error_of(client.api_call("conversations.create", data={"is_private": "true"}))
    assert "name" in error.response["response_metadata"]["messages"][0]
    assert [(r.method, r.error) for r in standin.rejections] == [
        ("chat.postMessage", "invalid_arguments"),
        ("conversations.create", "invalid_arguments"),
    ]


async def test_json_body_to_a_form_only_method_is_rejected(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    error = await _error_of(client.api_call("users.info", json={"user": ALICE}))
    assert error.response["error"] == "invalid_arguments"
    assert standin.rejections[0].method == "users.info"
    response = await client.users_info(user=ALICE)  # slack_sdk sends it as a GET query
    assert response["user"]["id"] == ALICE


async def test_tokens(standin: SlackStandIn) -> None:
    anonymous = AsyncWebClient(base_url=standin.api_url)
    assert (await _error_of(anonymous.auth_test())).response["error"] == "not_authed"
    forged = AsyncWebClient(token="xoxb-forged", base_url=standin.api_url)
    assert (await _error_of(forged.auth_test())).response["error"] == "invalid_auth"
    app_level = AsyncWebClient(token=standin.app_token, base_url=standin.api_url)
    error = await _error_of(app_level.chat_postMessage(channel="C1", text="hi"))
    assert error.response["error"] == "not_allowed_token_type"
    bot = AsyncWebClient(token=standin.bot_token, base_url=standin.api_url)
    assert (await _error_of(bot.apps_connections_open(app_token=standin.bot_token))).response[
        "error"
    ] == "not_allowed_token_type"
    identity = await bot.auth_test()
    assert (identity["user_id"], identity["team_id"], identity["bot_id"]) == (
        "U0HASHIBOT",
        "T0HASHI",
        "B0HASHIBOT",
    )
    # The token also works as a form argument.
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{standin.api_url}auth.test", data={"token": standin.bot_token}) as answer:
            assert (await answer.json())["ok"] is True


async def test_allow_listed_methods_work(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-bookmarks"))["channel"]["id"]
    bookmark = await client.bookmarks_add(
        channel_id=channel, title="Runbook", type="link", link="https://runbooks.example.com/db"
    )
    assert bookmark["bookmark"]["channel_id"] == channel
    assert standin.channels[channel].bookmarks[0]["title"] == "Runbook"
    opened = await client.apps_connections_open(app_token=standin.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{standin.port}/socket/")
    assert standin.rejections == []


# ------------------------------------------------------------------------- channels


async def test_create_channels(standin: SlackStandIn, client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="inc-2026-11-24-db-outage")
    channel = created["channel"]
    assert channel["id"].startswith("C")
    assert (channel["name"], channel["is_private"], channel["is_member"]) == (
        "inc-2026-11-24-db-outage",
        False,
        True,
    )
    assert standin.channels[channel["id"]].members == [standin.bot_user_id]

    private = (await client.conversations_create(name="inc-secret", is_private=True))["channel"]
    assert private["id"].startswith("C")
    assert private["is_private"] is True

    japanese = (await client.conversations_create(name="障害-データベース"))["channel"]
    assert japanese["name"] == "障害-データベース"

    taken = await _error_of(client.conversations_create(name="inc-2026-11-24-db-outage"))
    assert taken.response["error"] == "name_taken"
    assert standin.rejections == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Inc-Outage", "invalid_name_specials"),
        ("inc outage", "invalid_name_specials"),
        ("inc.outage", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
    ],
)
async def test_invalid_channel_names(client: AsyncWebClient, name: str, error: str) -> None:
    assert (await _error_of(client.conversations_create(name=name))).response["error"] == error


async def test_eighty_characters_is_the_limit(client: AsyncWebClient) -> None:
    assert (await client.conversations_create(name="a" * 80))["ok"] is True
    assert (await client.conversations_create(name="障" * 80))["ok"] is True


async def test_invite(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-invite"))["channel"]["id"]
    await client.conversations_invite(channel=channel, users=[ALICE, BOB])
    assert standin.channels[channel].members == [standin.bot_user_id, ALICE, BOB]
    await client.conversations_invite(channel=channel, users=f"{ALICE},{KENJI}")  # some new: fine
    assert KENJI in standin.channels[channel].members

    already = await _error_of(client.conversations_invite(channel=channel, users=[ALICE, BOB]))
    assert already.response["error"] == "already_in_channel"
    unknown = await _error_of(client.conversations_invite(channel=channel, users=["U0NOBODY"]))
    assert unknown.response["error"] == "user_not_found"
    self_invite = await _error_of(client.conversations_invite(channel=channel, users=standin.bot_user_id))
    assert self_invite.response["error"] == "cant_invite_self"
    missing = await _error_of(client.conversations_invite(channel="C0MISSING", users=ALICE))
    assert missing.response["error"] == "channel_not_found"


async def test_private_channel_the_bot_is_not_in_is_invisible(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    standin.add_channel("C0HIDDEN", "hidden", is_private=True, members=[ALICE])
    standin.add_channel("C0PUBLIC", "general-chat", members=[ALICE])
    hidden = await _error_of(client.chat_postMessage(channel="C0HIDDEN", text="hi"))
    assert hidden.response["error"] == "channel_not_found"
    outside = await _error_of(client.chat_postMessage(channel="C0PUBLIC", text="hi"))
    assert outside.response["error"] == "not_in_channel"
    await client.conversations_join(channel="C0PUBLIC")
    assert (await client.chat_postMessage(channel="C0PUBLIC", text="hi"))["ok"] is True


async def test_topic_purpose_info_members_archive(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-topic"))["channel"]["id"]
    await client.conversations_setTopic(channel=channel, topic="SEV1 · DB outage · IC: <@U0ALICE>")
    await client.conversations_setPurpose(channel=channel, purpose="Coordinating the DB outage")
    too_long = await _error_of(client.conversations_setPurpose(channel=channel, purpose="x" * 251))
    assert too_long.response["error"] == "too_long"
    info = await client.conversations_info(channel=channel, include_num_members=True)
    assert info["channel"]["topic"]["value"] == "SEV1 · DB outage · IC: <@U0ALICE>"
    assert info["channel"]["purpose"]["value"] == "Coordinating the DB outage"
    assert info["channel"]["num_members"] == 1
    await client.conversations_invite(channel=channel, users=[ALICE, BOB, KENJI])
    first = await client.conversations_members(channel=channel, limit=2)
    second = await client.conversations_members(
        channel=channel, cursor=first["response_metadata"]["next_cursor"]
    )
    assert first["members"] + second["members"] == [standin.bot_user_id, ALICE, BOB, KENJI]
    assert second["response_metadata"]["next_cursor"] == ""
    await client.conversations_archive(channel=channel)
    assert standin.channels[channel].is_archived
    archived = await _error_of(client.chat_postMessage(channel=channel, text="late"))
    assert archived.response["error"] == "is_archived"
    again = await _error_of(client.conversations_archive(channel=channel))
    assert again.response["error"] == "already_archived"


# ------------------------------------------------------------------------- messages


async def test_post_update_pin_react(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-card"))["channel"]["id"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*SEV1* DB outage"}}]
    first = await client.chat_postMessage(channel=channel, text="SEV1 DB outage", blocks=blocks)
    second = await client.chat_postMessage(channel=channel, text="second")
    assert first["message"]["blocks"] == blocks
    assert first["message"]["bot_id"] == standin.bot_id
    assert float(second["ts"]) > float(first["ts"])
    assert len(first["ts"].split(".")[1]) == 6

    updated = await client.chat_update(channel=channel, ts=first["ts"], text="SEV2 DB degraded")
    assert updated["text"] == "SEV2 DB degraded"
    assert standin.channels[channel].message(first["ts"])["text"] == "SEV2 DB degraded"  # type: ignore[index]
    missing = await _error_of(client.chat_update(channel=channel, ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"

    await client.pins_add(channel=channel, timestamp=first["ts"])
    assert standin.channels[channel].pins == [first["ts"]]
    assert (await _error_of(client.pins_add(channel=channel, timestamp=first["ts"]))).response[
        "error"
    ] == "already_pinned"
    assert (await _error_of(client.pins_add(channel=channel))).response["error"] == "no_item_specified"
    pins = await client.pins_list(channel=channel)
    assert pins["items"][0]["message"]["ts"] == first["ts"]
    await client.pins_remove(channel=channel, timestamp=first["ts"])
    assert (await _error_of(client.pins_remove(channel=channel, timestamp=first["ts"]))).response[
        "error"
    ] == "no_pin"

    await client.reactions_add(channel=channel, timestamp=first["ts"], name="eyes")
    already = await _error_of(client.reactions_add(channel=channel, timestamp=first["ts"], name=":eyes:"))
    assert already.response["error"] == "already_reacted"

    link = await client.chat_getPermalink(channel=channel, message_ts=first["ts"])
    assert (
        link["permalink"] == f"https://standin.slack.local/archives/{channel}/p{first['ts'].replace('.', '')}"
    )

    await client.chat_delete(channel=channel, ts=second["ts"])
    history = await client.conversations_history(channel=channel)
    assert [m["ts"] for m in history["messages"]] == [first["ts"]]
    assert standin.rejections == []


async def test_messages_need_content_and_at_most_fifty_blocks(client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-blocks"))["channel"]["id"]
    # slack_sdk's chat_postMessage warns without text, so go through api_call.
    empty = await _error_of(client.api_call("chat.postMessage", json={"channel": channel}))
    assert empty.response["error"] == "no_text"
    many = [{"type": "divider"}] * 51
    error = await _error_of(client.chat_postMessage(channel=channel, text="x", blocks=many))
    assert error.response["error"] == "invalid_blocks"
    assert (await client.chat_postMessage(channel=channel, text="x", blocks=many[:50]))["ok"]


async def test_threads_dms_and_ephemeral(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-thread"))["channel"]["id"]
    await client.conversations_invite(channel=channel, users=ALICE)
    parent = await client.chat_postMessage(channel=channel, text="Timeline")
    human = standin.add_message(channel, text="DB is back", user=ALICE, thread_ts=parent["ts"])
    reply = await client.chat_postMessage(channel=channel, text="Noted", thread_ts=parent["ts"])
    thread = await client.conversations_replies(channel=channel, ts=parent["ts"])
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], human["ts"], reply["ts"]]
    assert thread["messages"][0]["reply_count"] == 2
    history = await client.conversations_history(channel=channel)
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    cannot = await _error_of(client.chat_update(channel=channel, ts=human["ts"], text="edited"))
    assert cannot.response["error"] == "cant_update_message"

    dm = await client.chat_postMessage(channel=BOB, text="You are the incident commander")
    assert dm["channel"].startswith("D")

    await client.chat_postEphemeral(channel=channel, user=ALICE, text="Only you can see this")
    assert standin.ephemeral[ALICE][0]["text"] == "Only you can see this"
    outsider = await _error_of(client.chat_postEphemeral(channel=channel, user=BOB, text="x"))
    assert outsider.response["error"] == "user_not_in_channel"


async def test_schedule_and_cancel(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-reminders"))["channel"]["id"]
    post_at = int(time.time()) + 3600
    scheduled = await client.chat_scheduleMessage(channel=channel, post_at=post_at, text="Status update due")
    message_id = scheduled["scheduled_message_id"]
    assert message_id.startswith("Q")
    assert scheduled["post_at"] == post_at
    assert standin.scheduled[message_id].text == "Status update due"
    listed = await client.chat_scheduledMessages_list(channel=channel)
    assert [m["id"] for m in listed["scheduled_messages"]] == [message_id]

    past = await _error_of(
        client.chat_scheduleMessage(channel=channel, post_at=int(time.time()) - 5, text="x")
    )
    assert past.response["error"] == "time_in_past"
    far = await _error_of(
        client.chat_scheduleMessage(channel=channel, post_at=post_at + 121 * 86400, text="x")
    )
    assert far.response["error"] == "time_too_far"

    await client.chat_deleteScheduledMessage(channel=channel, scheduled_message_id=message_id)
    assert standin.scheduled == {}
    gone = await _error_of(
        client.chat_deleteScheduledMessage(channel=channel, scheduled_message_id=message_id)
    )
    assert gone.response["error"] == "invalid_scheduled_message_id"


async def test_due_scheduled_messages_are_posted(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-due"))["channel"]["id"]
    post_at = int(time.time()) + 60
    await client.chat_scheduleMessage(channel=channel, post_at=post_at, text="One hour in")
    delivered = standin.deliver_due_scheduled(now=post_at)
    assert [m["text"] for m in delivered] == ["One hour in"]
    assert standin.scheduled == {}
    assert standin.channels[channel].messages[-1]["text"] == "One hour in"


# ------------------------------------------------------------------------- Slack's limits


async def _limited(
    api_spec: ApiSpec, limits: RateLimits, team_id: str = "T0HASHI"
) -> tuple[SlackStandIn, AsyncWebClient]:
    server = SlackStandIn(spec=api_spec, rate_limits=limits, team_id=team_id)
    server.add_user(ALICE, name="alice", real_name="Alice Example")
    await server.start()
    # slack_sdk's default client retries connection errors only, so a 429 reaches the test.
    return server, AsyncWebClient(token=server.bot_token, base_url=server.api_url)


async def _status(call: Any) -> tuple[int, str | None]:
    """The HTTP status of a call and its Retry-After header, whether it succeeded or not."""
    try:
        response = await call
    except SlackApiError as error:
        return error.response.status_code, error.response.headers.get("Retry-After")
    return response.status_code, None


async def test_restricted_too_many_past_thirty_due_within_five_minutes_in_a_channel(
    client: AsyncWebClient,
) -> None:
    room = (await client.conversations_create(name="inc-many-reminders"))["channel"]["id"]
    other = (await client.conversations_create(name="inc-other-room"))["channel"]["id"]
    start = int(time.time()) + 3600
    for n in range(30):  # 30 due within 145 seconds
        await client.chat_scheduleMessage(channel=room, post_at=start + n * 5, text=f"reminder {n}")

    for post_at in (start + 150, start + 299, start - 10):  # windows holding all 30
        error = await _error_of(client.chat_scheduleMessage(channel=room, post_at=post_at, text="31st"))
        assert error.response.status_code == 200
        assert error.response.data == {"ok": False, "error": "restricted_too_many"}
    assert (await client.chat_scheduleMessage(channel=other, post_at=start + 150, text="elsewhere"))["ok"]
    # start + 300 lies outside [start, start + 300): a 5-minute window there holds at most 29 of them.
    assert (await client.chat_scheduleMessage(channel=room, post_at=start + 300, text="later"))["ok"]
    assert (await client.chat_scheduleMessage(channel=room, post_at=start - 300, text="earlier"))["ok"]


def test_every_method_the_standin_answers_has_a_documented_tier() -> None:
    standin = SlackStandIn(spec=None)
    assert standin.implemented_methods <= set(METHOD_TIERS)


@pytest.mark.parametrize(
    ("method", "allowance", "interval", "retry_after"),
    [
        ("conversations.list", 20, 3.0, "3"),  # Tier 2: 20 a minute, one every 3 seconds
        ("conversations.info", 50, 1.2, "2"),  # Tier 3: Retry-After rounds up to whole seconds
        ("users.info", 100, 0.6, "1"),  # Tier 4
        ("auth.test", 200, 0.3, "1"),  # special: "hundreds of requests per minute"
    ],
)
async def test_a_tier_allows_its_burst_then_answers_429_until_the_window_moves(
    api_spec: ApiSpec, method: str, allowance: int, interval: float, retry_after: str
) -> None:
    clock = ManualClock()
    server, client = await _limited(api_spec, RateLimits(clock=clock))
    server.add_channel("C0ROOM", "room", members=[server.bot_user_id])
    args = {"conversations.info": {"channel": "C0ROOM"}, "users.info": {"user": ALICE}}.get(method, {})
    try:
        for _ in range(allowance):
            assert (await client.api_call(method, params=args))["ok"] is True
        refused = await _error_of(client.api_call(method, params=args))
        assert refused.response.status_code == 429
        assert refused.response.headers["Retry-After"] == retry_after
        assert refused.response.data == {"ok": False, "error": "ratelimited"}
        assert server.calls[-1].http_status == 429 and not server.calls[-1].injected

        clock.advance(interval - 0.1)
        assert (await _status(client.api_call(method, params=args)))[0] == 429
        clock.advance(int(retry_after) - interval + 0.1)  # waiting Retry-After is enough
        assert (await client.api_call(method, params=args))["ok"] is True
        clock.advance(60)  # a quiet minute refills the bucket, no further
        for _ in range(allowance):
            assert (await client.api_call(method, params=args))["ok"] is True
        assert (await _status(client.api_call(method, params=args)))[0] == 429
    finally:
        await server.stop()


async def test_post_message_is_one_a_second_per_channel_with_short_bursts(api_spec: ApiSpec) -> None:
    clock = ManualClock()
    server, client = await _limited(api_spec, RateLimits(clock=clock))
    for channel_id in ("C0ROOM", "C0OTHER"):
        server.add_channel(channel_id, channel_id.lower(), members=[server.bot_user_id])
    try:
        for n in range(25):  # a burst
            await client.chat_postMessage(channel="C0ROOM", text=f"line {n}")
        assert await _status(client.chat_postMessage(channel="C0ROOM", text="26th")) == (429, "1")
        assert (await client.chat_postMessage(channel="C0OTHER", text="another channel"))["ok"] is True
        assert (await client.chat_update(channel="C0ROOM", ts=server.calls[0].response["ts"], text="e"))["ok"]

        clock.advance(1)
        assert (await client.chat_postMessage(channel="C0ROOM", text="a second later"))["ok"] is True
        assert (await _status(client.chat_postMessage(channel="C0ROOM", text="again")))[0] == 429
        clock.advance(3)
        for n in range(3):
            await client.chat_postMessage(channel="C0ROOM", text=f"one a second {n}")
        assert (await _status(client.chat_postMessage(channel="C0ROOM", text="too soon")))[0] == 429
    finally:
        await server.stop()


async def test_limits_count_per_workspace_and_per_method(api_spec: ApiSpec) -> None:
    clock = ManualClock()
    limits = RateLimits(clock=clock)  # one set of limits, two workspaces
    first, first_client = await _limited(api_spec, limits, team_id="T0FIRST")
    second, second_client = await _limited(api_spec, limits, team_id="T0SECOND")
    try:
        for _ in range(20):
            await first_client.conversations_list()
        assert (await _status(first_client.conversations_list()))[0] == 429
        assert (await second_client.conversations_list())["ok"] is True  # another workspace
        assert (await first_client.users_info(user=ALICE))["ok"] is True  # another method
    finally:
        await first.stop()
        await second.stop()


async def test_limits_can_be_turned_off_or_scaled(api_spec: ApiSpec) -> None:
    unlimited, client = await _limited(api_spec, RateLimits(enabled=False))
    try:
        for _ in range(60):
            await client.conversations_list()
        assert [c.http_status for c in unlimited.calls] == [200] * 60
    finally:
        await unlimited.stop()
    assert SlackStandIn(spec=None, rate_limits=False).rate_limits.enabled is False

    doubled, client = await _limited(api_spec, RateLimits(scale=2.0, clock=ManualClock()))
    try:
        for _ in range(40):
            await client.conversations_list()
        assert await _status(client.conversations_list()) == (429, "2")  # 40 a minute: one every 1.5 s
    finally:
        await doubled.stop()


# ------------------------------------------------------------------------- faults and timing


async def test_rate_limit_is_retried_after_retry_after(standin: SlackStandIn) -> None:
    client = AsyncWebClient(
        token=standin.bot_token,
        base_url=standin.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    channel = (await client.conversations_create(name="inc-ratelimit"))["channel"]["id"]
    standin.fail_next("chat.postMessage", status=429, retry_after=0)
    posted = await client.chat_postMessage(channel=channel, text="after a 429")
    assert posted["ok"] is True
    attempts = standin.calls_to("chat.postMessage")
    assert [(a.http_status, a.injected) for a in attempts] == [(429, True), (200, False)]
    assert attempts[0].response == {"ok": False, "error": "ratelimited"}


async def test_rate_limit_without_a_handler_surfaces(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.fail_next("*", status=429, retry_after=7)
    error = await _error_of(client.auth_test())
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert (await client.auth_test())["ok"] is True


async def test_server_error_is_retried(standin: SlackStandIn) -> None:
    client = AsyncWebClient(
        token=standin.bot_token,
        base_url=standin.api_url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    standin.fail_next("auth.test", status=500, times=1)
    standin.fail_next("auth.test", status=503, times=1)
    assert (await client.auth_test())["ok"] is True
    assert [c.http_status for c in standin.calls_to("auth.test")] == [500, 503, 200]


async def test_error_fault_and_hang(standin: SlackStandIn) -> None:
    client = AsyncWebClient(token=standin.bot_token, base_url=standin.api_url, timeout=0.2)  # type: ignore[arg-type]
    standin.fail_next("views.open", status=200, error="expired_trigger_id")
    error = await _error_of(
        client.views_open(trigger_id="1.2.3", view={"type": "modal", "title": _text("x")})
    )
    assert error.response["error"] == "expired_trigger_id"
    standin.fail_next("auth.test", status=200, hang=0.5)
    with pytest.raises(TimeoutError):
        await client.auth_test()


async def test_latency_and_concurrency_are_measured(api_spec: ApiSpec) -> None:
    async with SlackStandIn(spec=api_spec, latency=0.1) as slow:
        client = AsyncWebClient(token=slow.bot_token, base_url=slow.api_url)
        started = time.monotonic()
        await asyncio.gather(*(client.auth_test() for _ in range(5)))
        elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 0.5
    assert slow.max_in_flight == 5


# ------------------------------------------------------------------------- files


async def test_files_upload_v2_end_to_end(standin: SlackStandIn, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-postmortem"))["channel"]["id"]
    content = "# Postmortem\n\n障害の概要\n"
    uploaded = await client.files_upload_v2(
        channel=channel,
        filename="postmortem.md",
        title="Postmortem: DB outage",
        content=content,
        initial_comment="Draft postmortem attached",
    )
    file_id = uploaded["file"]["id"]
    stored = standin.files[file_id]
    assert stored.content == content.encode()
    assert (stored.name, stored.title) == ("postmortem.md", "Postmortem: DB outage")
    assert (stored.channel_id, stored.initial_comment) == (channel, "Draft postmortem attached")
    shared = standin.channels[channel].messages[-1]
    assert shared["text"] == "Draft postmortem attached"
    assert shared["files"][0]["id"] == file_id
    assert [c.method for c in standin.calls][-2:] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert standin.rejections == []


# ------------------------------------------------------------------------- views


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


async def test_views_open_update_publish(standin: SlackStandIn, client: AsyncWebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "declare",
        "title": _text("Declare an incident"),
        "submit": _text("Declare"),
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": _text("Title"),
                "element": {"type": "plain_text_input"},
            }
        ],
    }
    opened = await client.views_open(trigger_id="12345.98765.abcd2358fdea", view=modal)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V")
    assert standin.views[view_id]["callback_id"] == "declare"

    updated = await client.views_update(
        view_id=view_id, view={**modal, "title": _text("Declared")}, hash=opened["view"]["hash"]
    )
    assert updated["view"]["title"]["text"] == "Declared"
    stale = await _error_of(client.views_update(view_id=view_id, view=modal, hash=opened["view"]["hash"]))
    assert stale.response["error"] == "hash_conflict"

    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "No open incidents"}}],
    }
    await client.api_call(
        "views.publish", json={"user_id": ALICE, "view": json.dumps(home)}
    )  # view as a string
    assert standin.home_views[ALICE]["blocks"] == home["blocks"]

    no_submit = {key: value for key, value in modal.items() if key != "submit"}
    assert (await _error_of(client.views_open(trigger_id="1.2.3", view=no_submit))).response[
        "error"
    ] == "invalid_arguments"
    many = {**modal, "blocks": [{"type": "divider"}] * 101}
    assert (await _error_of(client.views_open(trigger_id="1.2.3", view=many))).response[
        "error"
    ] == "invalid_blocks"
    missing_trigger = await _error_of(client.api_call("views.open", json={"view": modal}))
    assert missing_trigger.response["error"] == "invalid_arguments"
    assert [r.method for r in standin.rejections] == ["views.open"]


# ------------------------------------------------------------------------- users


async def test_users_info_with_locale_and_timezone(standin: SlackStandIn, client: AsyncWebClient) -> None:
    kenji = (await client.users_info(user=KENJI, include_locale=True))["user"]
    assert (kenji["tz"], kenji["tz_offset"], kenji["tz_label"]) == (
        "Asia/Tokyo",
        32400,
        "Japan Standard Time",
    )
    assert kenji["locale"] == "ja-JP"
    assert kenji["real_name"] == "山田 健二"
    alice = (await client.users_info(user=ALICE))["user"]
    assert "locale" not in alice
    assert alice["profile"]["email"] == "alice@example.com"
    assert (await _error_of(client.users_info(user="U0NOBODY"))).response["error"] == "user_not_found"
    assert (await client.users_lookupByEmail(email="alice@example.com"))["user"]["id"] == ALICE


async def test_usergroup_members(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.add_usergroup("S0ONCALL", "oncall-db", [ALICE, KENJI])
    assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == [ALICE, KENJI]


# ------------------------------------------------------------------------- response URLs and Socket Mode


async def test_response_url_records_bodies(standin: SlackStandIn) -> None:
    url = standin.response_url(channel="C0GENERAL")
    webhook = AsyncWebhookClient(url)
    answer = await webhook.send_dict({"response_type": "ephemeral", "text": "Incident declared"})
    assert answer.status_code == 200
    assert standin.responses == [{"response_type": "ephemeral", "text": "Incident declared"}]
    assert standin.responses_to(url) == standin.responses


async def test_socket_mode_round_trip(standin: SlackStandIn) -> None:
    web_client = AsyncWebClient(base_url=standin.api_url)
    socket_client = SocketModeClient(app_token=standin.app_token, web_client=web_client)
    received: list[SocketModeRequest] = []

    async def acknowledge(client: Any, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ack'd"})
        )

    socket_client.socket_mode_request_listeners.append(acknowledge)
    try:
        await socket_client.connect()  # type: ignore[no-untyped-call]
        await standin.wait_socket_connected(timeout=2)
        command = {
            "command": "/incident",
            "text": "declare DB outage",
            "user_id": ALICE,
            "channel_id": "C0GENERAL",
        }
        ack = await standin.socket_send("slash_commands", command, timeout=2)
        await standin.socket_disconnect()  # Slack's periodic "please reconnect"
        for _ in range(100):
            if standin.socket_connections == 2 and len(standin.calls_to("apps.connections.open")) == 2:
                break
            await asyncio.sleep(0.02)
        event = {"type": "event_callback", "event": {"type": "app_mention", "text": "<@U0HASHIBOT> status"}}
        second = await standin.socket_send("events_api", event, timeout=2)
    finally:
        await socket_client.close()  # type: ignore[no-untyped-call]
    assert received[0].type == "slash_commands"
    assert received[0].payload == command
    assert ack == {"envelope_id": received[0].envelope_id, "payload": {"text": "ack'd"}}
    assert standin.socket_connections == 2
    assert received[1].type == "events_api"
    assert second["envelope_id"] == received[1].envelope_id


async def test_without_a_spec_only_argument_checks_are_skipped() -> None:
    async with SlackStandIn(spec=None) as standin:
        client = AsyncWebClient(token=standin.bot_token, base_url=standin.api_url)
        assert (await client.conversations_create(name="inc-nospec"))["ok"] is True
        error = await _error_of(client.api_call("chat.postMesage", json={"channel": "C1", "text": "hi"}))
        assert error.response["error"] == "unknown_method"
        assert [r.error for r in standin.rejections] == ["unknown_method"]


async def test_join_and_response_url_limits(standin: SlackStandIn, client: AsyncWebClient) -> None:
    standin.add_channel("C0OPEN", "open", members=[ALICE])
    joined = await client.conversations_join(channel="C0OPEN")
    assert joined["channel"]["is_member"] is True
    again = await client.conversations_join(channel="C0OPEN")
    assert again["warning"] == "already_in_channel"
    url = standin.response_url(channel="C0OPEN")
    webhook = AsyncWebhookClient(url)
    statuses = [(await webhook.send(text=f"update {n}")).status_code for n in range(6)]
    assert statuses == [200] * 5 + [404]  # Slack honours a response_url five times
