"""What the gateway makes of Slack's errors, whatever the body they came in."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.webapi import slack_error


def _error(status: int, data: object) -> SlackApiError:
    response = AsyncSlackResponse(
        client=AsyncWebClient(token="xoxb-test"),
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=data,  # type: ignore[arg-type]
        headers={},
        status_code=status,
    )
    return SlackApiError("failed", response)


def test_slacks_own_error_code_is_kept() -> None:
    assert slack_error(_error(200, {"ok": False, "error": "channel_not_found"})) == "channel_not_found"


def test_a_text_body_is_named_by_its_status() -> None:
    # A proxy's or a load balancer's page in front of Slack: no JSON to read an error code from.
    assert slack_error(_error(500, "<html>Internal Server Error</html>")) == "http_500"
    assert slack_error(_error(502, {"ok": False})) == "http_502"
