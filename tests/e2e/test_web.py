"""The web dashboard over real HTTP: Sign in with Slack against the stand-in, the pages, what they hide."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi, populate, running_hashi
from standin.server import SlackStandIn
from standin.spec import ApiSpec
from tests.e2e.serving import free_port, serve, until
from tests.e2e.signing_in import browser, sign_in
from tests.e2e.test_security import _declare_in_modal, _membership

TEAM = TeamConfig.model_validate({"services": {"checkout": {"slo": 99.9}}, "types": ["default", "security"]})


@pytest.fixture
async def web(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi with Sign in with Slack set up, on SQLite, against the stand-in."""
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'web.db'}", spec=slack_spec, team=TEAM, sign_in=True
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _incidents(hashi: Hashi) -> tuple[int, int]:
    """A public incident (with a note and an HTML-looking title) and a private one Carol is not in."""
    await _declare_in_modal(hashi, "Checkout <b>500s</b> & retries", services="checkout", private=False)
    public_room = hashi.channel_named("inc-1-")
    assert public_room is not None
    await hashi.driver.command(
        "note rolled back deploy <script>x</script>", user_id=BOB, channel_id=public_room
    )
    await _declare_in_modal(hashi, "Secret rotation leak", services="vault", private=True)
    await hashi.settle()
    return 1, 2


async def test_without_a_client_id_the_dashboard_says_how_to_set_sign_in_up(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV2 Payments down", user_id=ALICE, channel_id=GENERAL)
    await hashi.settle()
    async with browser() as http:
        for path in ("/", "/incidents", "/incidents/1", "/reliability"):
            async with http.get(f"{hashi.base}{path}", allow_redirects=False) as page:
                text = await page.text()
                assert page.status == 503
                assert "HASHI_SLACK_CLIENT_ID" in text and "HASHI_PUBLIC_URL" in text
                assert "Payments down" not in text


async def test_sign_in_then_the_list_shows_what_the_viewer_may_see(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        async with http.get(f"{web.base}/incidents", allow_redirects=False) as anonymous:
            assert anonymous.status == 401
            body = await anonymous.text()
            assert "Sign in with Slack" in body and "Checkout" not in body
        assert await sign_in(http, web.base, CAROL) == "/incidents"
        async with http.get(f"{web.base}/incidents") as page:
            text = await page.text()
            assert page.status == 200
            assert "Signed in as Carol Smith" in text
            assert "Checkout &lt;b&gt;500s&lt;/b&gt; &amp; retries" in text  # escaped, not markup
            assert "Secret rotation leak" not in text and "INC-2" not in text
            assert "1 incident" in text
        # The private incident answers exactly as one that does not exist.
        async with (
            http.get(f"{web.base}/incidents/2") as private,
            http.get(f"{web.base}/incidents/99") as none,
        ):
            assert private.status == none.status == 404
            assert "Secret" not in await private.text()
        async with http.get(f"{web.base}/incidents", params={"service": "vault"}) as by_service:
            assert "0 incidents" in await by_service.text()


async def test_a_member_of_the_private_incident_sees_it(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        await sign_in(http, web.base, ALICE)  # she declared it
        async with http.get(f"{web.base}/incidents") as page:
            text = await page.text()
            assert "Secret rotation leak" in text and "private" in text
        async with http.get(f"{web.base}/incidents/2") as incident:
            assert incident.status == 200
            assert "Secret rotation leak" in await incident.text()


async def test_the_incident_page_shows_card_timeline_metrics_and_postmortem(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        await sign_in(http, web.base, CAROL, next_page="/incidents/1")
        async with http.get(f"{web.base}/incidents/1", headers={"Accept-Language": "en-GB,en;q=0.8"}) as page:
            text = await page.text()
    assert page.status == 200
    assert "INC-1" in text and "SEV1" in text and "checkout" in text
    assert "<dt>Type</dt><dd>default</dd>" in text
    assert (
        "rolled back deploy" in text and "<script" not in text
    )  # Slack markup read as the postmortem reads it
    assert "Milestones" in text and "time to acknowledge" in text
    # Carol's Slack zone is Europe/London: times in it, with UTC beside them.
    assert "GMT" in text and "UTC" in text
    assert "https://app.slack.com/client/T0HASHI/" in text  # the channel in Slack
    assert 'href="/incidents/1/postmortem"' in text
    async with browser() as http:
        await sign_in(http, web.base, CAROL)
        async with http.get(f"{web.base}/incidents/1/postmortem") as draft:
            text = await draft.text()
        async with http.get(f"{web.base}/incidents/2/postmortem") as private:
            assert private.status == 404 and "Secret" not in await private.text()
    assert draft.status == 200
    assert "<h1>INC-1: Checkout" in text and "Timeline" in text
    assert '<svg class="chart gantt"' in text and "```mermaid" not in text  # the Mermaid gantt, drawn
    assert "&lt;!-- hashi:begin" not in text  # the markers `hashi export --update` uses are for editing


async def test_the_postmortem_page_follows_the_team_template_and_fields(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    """The page shows the draft `hashi export` writes: the team's own template, the fields' labels."""
    team = TeamConfig.model_validate(
        {"fields": {"region": {"kind": "select", "choices": ["eu", "us"], "label": {"en": "Region"}}}}
    )
    template = "{{title}}\n\n## What we saw\n\n{{summary}}\n\n## Our own part\n\n{{timeline}}\n"
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        spec=slack_spec,
        team=team,
        sign_in=True,
        postmortem_template=template,
    ) as hashi:
        await hashi.driver.command("declare SEV2 Payments down", user_id=ALICE, channel_id=GENERAL)
        room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
        await hashi.settle()
        await hashi.driver.command("set region eu", user_id=ALICE, channel_id=room)
        await hashi.settle()
        async with browser() as http:
            await sign_in(http, hashi.base, ALICE)
            async with http.get(f"{hashi.base}/incidents/1/postmortem") as draft:
                text = await draft.text()
    assert draft.status == 200
    assert "<h2>What we saw</h2>" in text and "<h2>Our own part</h2>" in text
    assert "Root Causes" not in text  # the shipped template's headings are not there
    assert "Region" in text and "eu" in text


async def test_japanese_browsers_read_japanese(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        await sign_in(http, web.base, BOB)
        headers = {"Accept-Language": "ja,en-US;q=0.7"}
        async with http.get(f"{web.base}/incidents", headers=headers) as page:
            text = await page.text()
            assert '<html lang="ja">' in text and "インシデント" in text
        async with http.get(f"{web.base}/reliability", headers=headers) as reliability:
            assert "SLO に対する可用性" in await reliability.text()


async def test_reliability_shows_the_figures_of_hashi_stats(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        await sign_in(http, web.base, CAROL)
        async with http.get(f"{web.base}/reliability", params={"window": "30d"}) as page:
            text = await page.text()
    assert page.status == 200
    # Both incidents count (the private one is counted, never named), as in /incident stats.
    assert "2 incidents started in the last 30d." in text
    assert "vault" not in text and "Secret" not in text
    assert "checkout" in text and "99.9%" in text
    assert text.count("<svg") >= 4


async def test_bad_filters_say_what_to_write_and_show_nothing(web: Hashi) -> None:
    await _incidents(web)
    async with browser() as http:
        await sign_in(http, web.base, CAROL)
        for params, expected in (
            ({"window": "soon"}, "soon is not a window; write a number of days or weeks such as 30d"),
            ({"severity": "SEV9"}, "SEV9 is not a severity here; choose one of SEV1, SEV2, SEV3, SEV4."),
            ({"status": "sleeping"}, "sleeping is not a status; choose open"),
            ({"page": "-1"}, "The page number must be a whole number from 1"),
        ):
            async with http.get(f"{web.base}/incidents", params=params) as page:
                text = await page.text()
                assert page.status == 400, params
                assert expected in text
                assert "Checkout" not in text
        async with http.get(f"{web.base}/reliability", params={"window": "<b>"}) as bad:
            assert bad.status == 400 and "&lt;b&gt; is not a window" in await bad.text()


async def test_filters_and_search(web: Hashi) -> None:
    await _incidents(web)
    await web.driver.command("declare SEV3 Search index lagging", user_id=BOB, channel_id=GENERAL)
    await web.driver.command(
        "declare SEV2 type:security Token found in a public repo", user_id=BOB, channel_id=GENERAL
    )
    await web.settle()
    async with browser() as http:
        await sign_in(http, web.base, BOB)
        async with http.get(f"{web.base}/incidents", params={"q": "INDEX"}) as found:
            text = await found.text()
            assert "Search index lagging" in text and "Checkout" not in text
        async with http.get(f"{web.base}/incidents", params={"severity": "sev1", "status": "open"}) as sev:
            text = await sev.text()
            assert "Checkout" in text and "Search index" not in text
        async with http.get(f"{web.base}/incidents", params={"service": "CHECKOUT", "window": "7d"}) as svc:
            assert "Checkout" in await svc.text()
        async with http.get(f"{web.base}/incidents", params={"type": "Security"}) as kind:
            text = await kind.text()
            assert "Token found in a public repo" in text and "Search index" not in text
        async with http.get(f"{web.base}/incidents", params={"type": "outage"}) as bad:
            assert bad.status == 400
            assert "outage is not an incident type here; choose one of default, security." in await bad.text()


async def test_every_answer_carries_the_security_headers(web: Hashi) -> None:
    async with browser() as http:
        for path in ("/", "/incidents", "/static/hashi.css", "/auth/slack"):
            async with http.get(f"{web.base}{path}", allow_redirects=False) as answer:
                csp = answer.headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp and "script-src" not in csp
                assert "default-src 'none'" in csp
                assert answer.headers["X-Frame-Options"] == "DENY"
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
                assert answer.headers["Referrer-Policy"] == "same-origin"
        await sign_in(http, web.base, CAROL)
        cookie = next(c for c in http.cookie_jar if c.key == "hashi_session")
        assert cookie["httponly"] and cookie["samesite"] == "Lax"


async def test_a_forged_or_replayed_sign_in_is_refused(web: Hashi) -> None:
    async with browser() as http:
        async with http.get(f"{web.base}/auth/slack", allow_redirects=False) as start:
            authorize = start.headers["Location"]
        fields = dict(parse_qsl(urlsplit(authorize).query))
        assert fields["team"] == web.standin.team_id and fields["nonce"] and fields["state"]
        async with http.post(
            authorize.split("?")[0], data={**fields, "user": CAROL}, allow_redirects=False
        ) as back:
            callback = back.headers["Location"]
        # Another state than the one this browser started with: refused, and no session.
        forged = callback.replace(f"state={fields['state']}", "state=forged")
        async with http.get(forged, allow_redirects=False) as refused:
            assert refused.status == 403
            assert "expired or was started in another browser" in await refused.text()
        assert not any(c.key == "hashi_session" for c in http.cookie_jar)
    async with browser() as other:  # a code replayed from another browser has no sign-in cookie
        async with other.get(callback, allow_redirects=False) as replayed:
            assert replayed.status == 403


async def test_someone_from_another_workspace_cannot_sign_in(web: Hashi) -> None:
    async with browser() as http:
        async with http.get(f"{web.base}/auth/slack", allow_redirects=False) as start:
            authorize = start.headers["Location"]
        fields = dict(parse_qsl(urlsplit(authorize).query))
        web.standin.openid.team_id = "T0ELSEWHERE"  # Slack answers for another workspace
        fields.pop("team")
        async with http.post(
            authorize.split("?")[0], data={**fields, "user": CAROL}, allow_redirects=False
        ) as back:
            callback = back.headers["Location"]
        async with http.get(callback, allow_redirects=False) as refused:
            assert refused.status == 403
            assert "another workspace" in await refused.text()
        assert not any(c.key == "hashi_session" for c in http.cookie_jar)


async def test_sign_out_needs_the_session_token(web: Hashi) -> None:
    async with browser() as http:
        await sign_in(http, web.base, CAROL)
        async with http.post(
            f"{web.base}/auth/sign-out", data={"token": "guess"}, allow_redirects=False
        ) as no:
            assert no.status == 302
        async with http.get(f"{web.base}/incidents") as still:
            assert still.status == 200
            token = (await still.text()).split('name="token" value="')[1].split('"')[0]
        async with http.post(
            f"{web.base}/auth/sign-out", data={"token": token}, allow_redirects=False
        ) as yes:
            assert yes.status == 302
        async with http.get(f"{web.base}/incidents", allow_redirects=False) as after:
            assert after.status == 401


async def test_the_card_and_app_home_link_to_the_incident_page(web: Hashi) -> None:
    await _incidents(web)
    room = web.channel_named("inc-1-")
    assert room is not None
    link = f"<{web.base}/incidents/1|Open in the web dashboard>"
    card = await web.eventually(lambda: link in json.dumps(web.card(room)), what="the card's link")
    assert card
    await web.driver.event({"type": "app_home_opened", "user": CAROL, "tab": "home"})
    home = await web.eventually(lambda: web.standin.home_views.get(CAROL), what="App Home")
    text = json.dumps(home)
    assert link in text and f"{web.base}/incidents/2" not in text  # not the private one


async def test_hashi_web_false_serves_no_dashboard(tmp_path: Path, slack_spec: ApiSpec) -> None:
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'off.db'}", spec=slack_spec, sign_in=True, dashboard=False
    ) as hashi:
        await hashi.driver.command("declare SEV2 Payments down", user_id=ALICE, channel_id=GENERAL)
        await hashi.settle()
        async with browser() as http:
            for path in ("/", "/incidents", "/auth/slack", "/static/hashi.css"):
                async with http.get(f"{hashi.base}{path}", allow_redirects=False) as answer:
                    assert answer.status == 404, path
            async with http.get(f"{hashi.base}/healthz") as health:
                assert health.status == 200
        room = hashi.channel_named("inc-1-")
        assert room is not None and "/incidents/1" not in json.dumps(hashi.card(room))


async def test_hashi_serve_signs_people_in_to_its_dashboard(tmp_path: Path, slack_spec: ApiSpec) -> None:
    """The real `hashi serve --http` process, configured by its environment alone."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    standin.openid.register_client(
        client_id="7.7", client_secret="s" * 20, redirect_uri=f"{base}/auth/callback"
    )
    served = await serve(
        standin,
        database_url=f"sqlite:///{tmp_path / 'served.db'}",
        workdir=tmp_path,
        port=port,
        secret="serve-test-secret",
        extra_env={
            "HASHI_SLACK_CLIENT_ID": "7.7",
            "HASHI_SLACK_CLIENT_SECRET": "s" * 20,
            "HASHI_PUBLIC_URL": base,
            "HASHI_SESSION_SECRET": "k" * 40,
        },
    )
    try:
        async with browser() as http:
            await served.wait_healthy(http)
            assert (
                await served.command(http, standin, "declare SEV2 Served web", user=ALICE, channel=GENERAL)
                == 200
            )
            await until(lambda: standin.calls_to("pins.add"), within=10, what="the card")
            assert await sign_in(http, base, BOB) == "/incidents"
            async with http.get(f"{base}/incidents") as page:
                assert page.status == 200 and "Served web" in await page.text()
        assert standin.rejections == []
    finally:
        served.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(served.process.wait(), timeout=20)
        await standin.stop()


async def test_someone_who_left_a_private_incident_no_longer_sees_it_on_the_web(web: Hashi) -> None:
    room = await _declare_in_modal(web, "Secret rotation leak", services="vault", private=True)
    async with browser() as http:
        await sign_in(http, web.base, BOB)  # signed in before joining: the session does not decide

        async def sees_it() -> bool:
            async with (
                http.get(f"{web.base}/incidents/1") as page,
                http.get(f"{web.base}/incidents") as listed,
            ):
                return page.status == 200 and "Secret rotation leak" in await listed.text()

        assert not await sees_it()
        await web.driver.event(_membership(web, "member_joined_channel", BOB, room, "1.1"))
        await web.settle()
        assert await sees_it()
        await web.driver.event(_membership(web, "member_left_channel", BOB, room, "1.2"))
        await web.settle()
        assert not await sees_it()
        async with http.get(f"{web.base}/incidents/1", params={"events": "2"}) as page:
            assert page.status == 404 and "Secret" not in await page.text()
