"""Sign in with Slack on the stand-in, driven by Hashi's gateway: the authorize page, a code exchanged once
for the right app and redirect, userInfo only with the token it gave."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from bot.incidents.errors import ChatError
from bot.slack.gateway import SlackGateway
from bot.slack.webapi import make_client
from standin.server import SlackStandIn
from standin.spec import ApiSpec, find_spec_path

CLIENT_ID, SECRET, BACK = "1111.2222", "shh", "https://hashi.example.com/auth/callback"


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    path = find_spec_path()
    if path is None:
        pytest.skip("../shared/slack/specs not found beside the checkout (Slack's OpenAPI spec lives there)")
    server = SlackStandIn(spec=ApiSpec.load(path))
    server.add_user("U0ANN", name="ann", real_name="Ann Lee", locale="ja-JP", email="ann@example.com")
    server.openid.register_client(client_id=CLIENT_ID, client_secret=SECRET, redirect_uri=BACK)
    await server.start()
    yield server
    await server.stop()
    assert server.rejections == []


async def _code(standin: SlackStandIn, **extra: str) -> str:
    query = {
        "response_type": "code",
        "scope": "openid profile",
        "client_id": CLIENT_ID,
        "redirect_uri": BACK,
        "state": "st",
        "nonce": "n0",
        **extra,
    }
    url = f"{standin.base_url}/openid/connect/authorize"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}?{urlencode(query)}") as page:
            assert page.status == 200 and 'id="as-U0ANN"' in await page.text()
        async with http.post(url, data={**query, "user": "U0ANN"}, allow_redirects=False) as back:
            assert back.status == 302
            location = back.headers["Location"]
    assert location.startswith(BACK + "?")
    fields = dict(parse_qsl(urlsplit(location).query))
    assert fields["state"] == "st"
    return fields["code"]


def _gateway(standin: SlackStandIn) -> SlackGateway:
    return SlackGateway(client=make_client(token=standin.bot_token, base_url=standin.api_url), severities=())


def _gateway(standin: SlackStandIn) -> SlackGateway:
    return SlackGateway(client=make_client(token=standin.bot_token, base_url=standin.api_url), severities=())


async def test_a_code_buys_a_token_once_and_the_token_says_who(standin: SlackStandIn) -> None:
    gateway = _gateway(standin)
    code = await _code(standin)
    tokens = await gateway.openid_token(
        code=code, redirect_uri=BACK, client_id=CLIENT_ID, client_secret=SECRET
    )
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["nonce"] == "n0" and claims["aud"] == CLIENT_ID and claims["sub"] == "U0ANN"
    assert claims["https://slack.com/team_id"] == standin.team_id
    info = await gateway.openid_user_info(access_token=tokens["access_token"])
    assert info["sub"] == "U0ANN" and info["locale"] == "ja-JP" and info["name"] == "Ann Lee"
    with pytest.raises(ChatError, match="invalid_code"):
        await gateway.openid_token(code=code, redirect_uri=BACK, client_id=CLIENT_ID, client_secret=SECRET)
    with pytest.raises(ChatError, match="invalid_auth"):  # the bot token is not a person's
        await gateway.openid_user_info(access_token=standin.bot_token)


@pytest.mark.parametrize(
    ("client_id", "secret", "redirect", "error"),
    [
        ("9.9", SECRET, BACK, "invalid_client_id"),
        (CLIENT_ID, "wrong", BACK, "bad_client_secret"),
        (CLIENT_ID, SECRET, "https://evil.example/cb", "bad_redirect_uri"),
    ],
)
async def test_the_exchange_checks_the_app_and_the_redirect(
    standin: SlackStandIn, client_id: str, secret: str, redirect: str, error: str
) -> None:
    code = await _code(standin)
    with pytest.raises(ChatError, match=error):
        await _gateway(standin).openid_token(
            code=code, redirect_uri=redirect, client_id=client_id, client_secret=secret
        )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "bad_redirect_uri"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "invalid_response_type"),
        ({"team": "T0OTHER"}, "invalid_team"),
        ({"client_id": "9.9"}, "invalid_client_id"),
    ],
)
async def test_the_authorize_page_refuses_bad_requests(
    standin: SlackStandIn, change: dict[str, str], problem: str
) -> None:
    query = {
        "response_type": "code",
        "scope": "openid",
        "client_id": CLIENT_ID,
        "redirect_uri": BACK,
        **change,
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{standin.base_url}/openid/connect/authorize?{urlencode(query)}") as page:
            assert page.status == 400 and problem in await page.text()
