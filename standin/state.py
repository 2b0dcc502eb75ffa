"""What the Slack stand-in remembers: calls, users, channels, messages, files; and Slack's naming rules."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

JSON = dict[str, Any]

CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
MESSAGE_TEXT_MAX = 40_000
SCHEDULE_HORIZON_SECONDS = 120 * 24 * 3600
# chat.scheduleMessage (docs.slack.dev): "you cannot schedule more than 30 messages to post within a
# 5-minute window to the same channel. Exceeding this will result in a restricted_too_many error."
SCHEDULE_WINDOW_SECONDS = 5 * 60
SCHEDULE_WINDOW_MAX = 30
RESPONSE_URL_USES = 5

_ASCII_ALLOWED = frozenset(string.ascii_lowercase + string.digits + "-_")

# zoneinfo only knows abbreviations; Slack's tz_label spells the common ones out.
_TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "IST": "India Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


@dataclass
class RecordedCall:
    """One Web API call as the stand-in received and answered it."""

    method: str
    args: JSON
    response: JSON
    http_status: int
    http_method: str = "POST"
    content_type: str = ""
    injected: bool = False


@dataclass
class Rejection:
    """A call Slack itself would refuse for its shape: an unknown method or a missing argument."""

    method: str
    error: str
    detail: str
    args: JSON


@dataclass
class UserState:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    display_name: str
    tz: str = "UTC"
    locale: str = "en-US"
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    updated: int = 0


@dataclass
class UserGroupState:
    """A user group (@handle) and its members."""

    id: str
    handle: str
    users: list[str] = field(default_factory=list)


@dataclass
class ChannelState:
    """A conversation: its settings, members, every message (replies included) and pins."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    created: int = 0
    creator: str = ""
    topic: str = ""
    topic_set: tuple[str, int] = ("", 0)
    purpose: str = ""
    purpose_set: tuple[str, int] = ("", 0)
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    messages: list[JSON] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    pinned_at: dict[str, int] = field(default_factory=dict)
    bookmarks: list[JSON] = field(default_factory=list)

    def message(self, ts: str) -> JSON | None:
        """The message posted at `ts`, if it is still there."""
        return next((message for message in self.messages if message.get("ts") == ts), None)

    def top_level(self) -> list[JSON]:
        """Messages shown in the channel itself (thread parents, broadcasts, no plain replies)."""
        return [
            message
            for message in self.messages
            if message.get("thread_ts") in (None, message.get("ts"))
            or message.get("subtype") == "thread_broadcast"
        ]


@dataclass
class ScheduledMessage:
    """A message waiting in chat.scheduleMessage's queue."""

    id: str
    channel_id: str
    post_at: int
    date_created: int
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None


@dataclass
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal → upload URL → files.completeUploadExternal."""

    id: str
    name: str
    length: int
    title: str | None = None
    content: bytes = b""
    uploaded: bool = False
    completed: bool = False
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    created: int = 0


def channel_name_error(name: str) -> str | None:
    """The error conversations.create answers for this name, or None when Slack accepts it."""
    if not name:
        return "invalid_name_required"
    if len(name) > CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    for char in name:
        if char.isascii():
            if char not in _ASCII_ALLOWED:
                return "invalid_name_specials"
        elif not char.isalnum() or char != char.lower():
            # Letters and digits of other scripts (日本語, ü, ...) are fine; symbols and capitals are not.
            return "invalid_name_specials"
    if all(char in "-_" for char in name):
        return "invalid_name_punctuation"
    return None


def tz_details(tz: str, *, now: datetime | None = None) -> tuple[str, int]:
    """Slack's tz_label and tz_offset (seconds east of UTC) for an IANA zone at `now`."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
    offset = local.utcoffset()
    abbreviation = local.tzname() or tz
    return _TZ_LABELS.get(abbreviation, abbreviation), int(offset.total_seconds()) if offset else 0
