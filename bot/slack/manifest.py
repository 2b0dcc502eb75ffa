"""The Slack app manifest: every scope, command, event and interactivity setting Hashi needs, and no more
(tests/slack/test_manifest_scopes.py checks the scopes against the methods the gateway calls)."""

from __future__ import annotations

from typing import Any

import yaml

BOT_SCOPES = (
    "commands",  # /incident
    "chat:write",  # cards, updates, ephemerals, and messages to a user (their app home's Messages tab)
    "chat:write.public",  # announcements in a channel the bot was not invited to
    "channels:manage",  # create public incident channels, set topic/purpose, invite
    "groups:write",  # the same for private incidents
    "channels:read",
    "groups:read",
    "channels:history",  # read a message someone marked with the timeline emoji; message_changed/deleted
    "groups:history",
    "pins:read",
    "pins:write",  # pin the incident card
    "reactions:read",  # reaction_added / reaction_removed
    "users:read",  # time zone and locale of a user (users.info)
    "files:write",  # the postmortem upload
    "usergroups:read",  # permissions and invites by user group
)
BOT_EVENTS = (
    "app_home_opened",
    "member_joined_channel",
    "member_left_channel",
    "message.channels",
    "message.groups",
    "pin_added",
    "pin_removed",
    "reaction_added",
    "reaction_removed",
)


# The user scopes Sign in with Slack asks for (OpenID Connect: who the person is, their name).
SIGN_IN_SCOPES = ("openid", "profile")


def manifest(*, socket_mode: bool, url: str | None) -> dict[str, Any]:
    """The manifest for Socket Mode, or for HTTP mode at `url` (requests go to `<url>/slack/events`, and the
    web dashboard's Sign in with Slack comes back to `<url>/auth/callback` with its OpenID scopes)."""
    if not socket_mode and not url:
        raise ValueError("HTTP mode needs the public URL Slack sends requests to")
    request_url = f"{(url or '').rstrip('/')}/slack/events"
    command: dict[str, Any] = {
        "command": "/incident",
        "description": "Declare and run incidents",
        "usage_hint": "[declare SEV2 title | status monitoring | note text | resolve | help]",
        "should_escape": True,  # mentions arrive as <@U123|name>, channels as <#C123|name>
    }
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    oauth: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if url and not socket_mode:  # the web dashboard's Sign in with Slack comes back there
        oauth = {
            "redirect_urls": [f"{url.rstrip('/')}/auth/callback"],
            "scopes": {"bot": list(BOT_SCOPES), "user": list(SIGN_IN_SCOPES)},
        }
    if not socket_mode:
        command["url"] = request_url
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "display_information": {
            "name": "Hashi",
            "description": "Incident response in Slack: declare, coordinate, measure, learn.",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "hashi", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(*, socket_mode: bool, url: str | None) -> str:
    """The manifest as YAML, ready to paste into api.slack.com/apps → Create from manifest."""
    return yaml.safe_dump(manifest(socket_mode=socket_mode, url=url), sort_keys=False, allow_unicode=True)
