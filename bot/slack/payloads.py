"""What Hashi writes into its buttons, block_ids, options and modals, and reads back: one typed payload each,
its `encode` beside its `decode`; then what Slack writes that listeners read (a click, a submitted modal, a
message an event names), with a decode only.

Slack hands these strings back with a click or a submission, and anyone who can send Hashi a signed request
can write them too, so every `decode` takes any value at all and returns None for one Hashi did not write
(a page number: the first page; the declare modal's metadata: opened from nowhere, zone and language
unknown); none raises. The encoded strings are the ones Hashi has always written: messages already in Slack
and modals already open still decode.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from bot.i18n import LANGUAGES, Lang
from bot.incidents.model import Status
from bot.incidents.ports import ChatMessage
from bot.slack.bodies import id_number, selected_option, selected_options, state_value
from bot.slack.text import clipped

MAX_BLOCK_ID = 255  # Block Kit: a block_id is at most 255 characters
MAX_OPTION_VALUE = 150  # Block Kit: an option's value is at most 150 characters
MAX_PAGE = 100_000  # a page number past any list's end, so a forged one costs no more than the last page
OLD_SUMMARY_LIMIT = 2900  # what an old "Resolve anyway" button could carry of the summary


@dataclass(frozen=True)
class IncidentRef:
    """An incident: the value of the card's buttons (ack, note, resolve, reopen, export) and the
    private_metadata of the note and resolve modals, `12`."""

    incident_id: int

    def encode(self) -> str:
        """`12`."""
        return str(self.incident_id)

    @classmethod
    def decode(cls, value: object) -> IncidentRef | None:
        """The incident of `12`, else None."""
        incident_id = id_number(value)
        return None if incident_id is None else cls(incident_id)


@dataclass(frozen=True)
class PageButton:
    """A page of the incident list or of App Home: the value of its newer/older buttons, `3`."""

    number: int

    def encode(self) -> str:
        """`3`."""
        return str(self.number)

    @classmethod
    def decode(cls, value: object) -> PageButton:
        """The page of `3`, kept between 1 and MAX_PAGE; the first page for anything else (a page is
        harmless to guess)."""
        number = id_number(str(value or "1")) or 1
        return cls(max(1, min(number, MAX_PAGE)))


def _pair(value: object) -> tuple[int, int] | None:
    """The two numbers of `12:34`, else None."""
    first, _, second = str(value or "").partition(":")
    a, b = id_number(first), id_number(second)
    return None if a is None or b is None else (a, b)


@dataclass(frozen=True)
class TimelinePageButton:
    """A page of an incident's timeline: the value of its newer/older buttons, `<incident>:<page>`."""

    incident_id: int
    number: int

    def encode(self) -> str:
        """`12:3`."""
        return f"{self.incident_id}:{self.number}"

    @classmethod
    def decode(cls, value: object) -> TimelinePageButton | None:
        """The incident and page of `12:3`, else None."""
        pair = _pair(value)
        return None if pair is None else cls(*pair)


@dataclass(frozen=True)
class EntryEditButton:
    """A timeline entry: the value of its Edit button, `<incident>:<entry>`."""

    incident_id: int
    entry_id: int

    def encode(self) -> str:
        """`12:34`."""
        return f"{self.incident_id}:{self.entry_id}"

    @classmethod
    def decode(cls, value: object) -> EntryEditButton | None:
        """The incident and entry of `12:34`, else None."""
        pair = _pair(value)
        return None if pair is None else cls(*pair)


def _json_button(value: object) -> tuple[int, dict[str, Any]] | None:
    """The incident (`id`) and the whole object of a button value Hashi wrote as JSON, else None."""
    try:
        asked = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    if not isinstance(asked, dict):
        return None
    incident_id = id_number(str(asked.get("id", "")))
    return None if incident_id is None else (incident_id, asked)


@dataclass(frozen=True)
class StatuspageButton:
    """ "Update the status page" after a status change: the incident and the status it moved to, as JSON."""

    incident_id: int
    status: Status

    def encode(self) -> str:
        """`{"id": 12, "status": "monitoring"}`."""
        return json.dumps({"id": self.incident_id, "status": self.status.value})

    @classmethod
    def decode(cls, value: object) -> StatuspageButton | None:
        """The incident and status of such a value, else None."""
        found = _json_button(value)
        if found is None:
            return None
        try:
            return cls(found[0], Status(str(found[1].get("status"))))
        except ValueError:
            return None


@dataclass(frozen=True)
class ResolveAnywayButton:
    """ "Resolve anyway" past open required checklist items: the incident and the time asked for, as JSON.

    The summary travels whole in the gate message's input (Slack sends it back with the click); `summary` is
    what older buttons carried in their value, read back and never written."""

    incident_id: int
    at: datetime | None
    summary: str = ""

    def encode(self) -> str:
        """`{"id": 12, "at": "2026-11-24T05:06:00+00:00"}` (`"at": null` for now)."""
        return json.dumps({"id": self.incident_id, "at": self.at.isoformat() if self.at else None})

    @classmethod
    def decode(cls, value: object) -> ResolveAnywayButton | None:
        """The incident, time and (old buttons') summary of such a value; None for anything else, a time
        without a zone included."""
        found = _json_button(value)
        if found is None:
            return None
        incident_id, asked = found
        at = None
        if asked.get("at") is not None:
            try:
                at = datetime.fromisoformat(str(asked["at"]))
            except ValueError:
                return None
            if at.tzinfo is None:
                return None
        return cls(incident_id, at, str(asked.get("summary") or "")[:OLD_SUMMARY_LIMIT])


@dataclass(frozen=True)
class ChecklistBlock:
    """A checkbox group of a checklist: its block_id, `hashi_checklist_<incident>_<first item>_<playbook>`,
    enough to know which items a tick concerns."""

    incident_id: int
    start: int
    playbook: str

    def encode(self) -> str:
        """`hashi_checklist_12_10_db-outage` (cut at MAX_BLOCK_ID)."""
        return f"hashi_checklist_{self.incident_id}_{self.start}_{self.playbook}"[:MAX_BLOCK_ID]

    @classmethod
    def decode(cls, value: object) -> ChecklistBlock | None:
        """The incident, first item and playbook of such a block_id, else None."""
        parts = str(value or "").split("_", 4)
        if len(parts) != 5 or parts[:2] != ["hashi", "checklist"]:
            return None
        incident_id, start = id_number(parts[2]), id_number(parts[3])
        if incident_id is None or start is None:
            return None
        return cls(incident_id, start, parts[4])


@dataclass(frozen=True)
class ChecklistOption:
    """One checklist item: its checkbox's value, `<playbook>/<item key>`."""

    playbook: str
    key: str

    def encode(self) -> str:
        """`db-outage/page-owner` (cut at MAX_OPTION_VALUE)."""
        return f"{self.playbook}/{self.key}"[:MAX_OPTION_VALUE]

    @classmethod
    def decode(cls, value: object, *, playbook: str) -> ChecklistOption | None:
        """The item of such a value in that playbook's group, else None (an option of another playbook)."""
        prefix = f"{playbook}/"
        if not isinstance(value, str) or not value.startswith(prefix):
            return None
        return cls(playbook, value[len(prefix) :])


def _metadata_object(value: object) -> dict[str, Any]:
    """A modal's private_metadata as the JSON object Hashi wrote, else {}."""
    try:
        meta = json.loads(value) if isinstance(value, str) and value else {}
    except (ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _text_of(meta: dict[str, Any], key: str) -> str:
    """A text field of a metadata object, "" when it is missing or not text."""
    value = meta.get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class DeclareModalMeta:
    """The declare modal's private_metadata: the channel it was opened from ("" for App Home), and the time
    zone and language of the one who opened it (so its submission is read without looking them up)."""

    channel_id: str
    zone: str  # an IANA zone name; "" when unknown
    lang: Lang | None

    def encode(self) -> str:
        """`{"channel": "C123", "tz": "Asia/Tokyo", "lang": "ja"}`."""
        return json.dumps({"channel": self.channel_id, "tz": self.zone, "lang": self.lang})

    @classmethod
    def decode(cls, value: object) -> DeclareModalMeta:
        """What such a value holds; each part missing or not of its type (a forged modal) is "" or None."""
        meta = _metadata_object(value)
        lang = next((code for code in LANGUAGES if code == meta.get("lang")), None)
        return cls(channel_id=_text_of(meta, "channel"), zone=_text_of(meta, "tz"), lang=lang)


def text_digest(text: str) -> str:
    """A short fingerprint of a modal's initial text, so a submission can tell whether it was changed."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class EntryModalMeta:
    """The private_metadata of the modal that corrects a timeline entry: which entry, what it showed (the
    text's digest and the time as text, in that zone), and the channel its Edit button was clicked in."""

    incident_id: int
    entry_id: int
    digest: str  # text_digest() of the text shown
    at_text: str  # the time shown, as shown
    zone: str  # the zone the time was shown in; "" when unknown
    channel_id: str

    def encode(self) -> str:
        """`{"i": 12, "e": 34, "t": "<digest>", "a": "2026-11-24 14:05", "tz": "Asia/Tokyo", "c": "C123"}`."""
        return json.dumps(
            {
                "i": self.incident_id,
                "e": self.entry_id,
                "t": self.digest,
                "a": self.at_text,
                "tz": self.zone,
                "c": self.channel_id,
            }
        )

    @classmethod
    def decode(cls, value: object) -> EntryModalMeta | None:
        """What such a value holds, else None (no incident or entry in it)."""
        meta = _metadata_object(value)
        incident_id, entry_id = id_number(str(meta.get("i", ""))), id_number(str(meta.get("e", "")))
        if incident_id is None or entry_id is None:
            return None
        return cls(
            incident_id=incident_id,
            entry_id=entry_id,
            digest=_text_of(meta, "t"),
            at_text=_text_of(meta, "a"),
            zone=_text_of(meta, "tz"),
            channel_id=_text_of(meta, "c"),
        )

    def shows_text(self, text: str) -> bool:
        """Whether `text` is the text the modal showed (left as it was)."""
        return bool(self.digest) and text_digest(text) == self.digest


# What Slack writes: decode only.


def _dict(value: object) -> dict[str, Any]:
    """A payload field that should be an object, or {} when it is missing or is not one."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Click:
    """A click, select or tick on one of Hashi's messages or on App Home (a block_actions delivery)."""

    user_id: str
    channel_id: str  # the clicked message's channel; "" on App Home
    trigger_id: str  # opens a modal
    value: object  # the element's value, for its payload's decode
    block_id: str
    selected: str | None  # a select's chosen option
    ticked: frozenset[str] | None  # a checkbox group's ticked options (none for a button; None: not options)
    answerable: bool  # whether it came with a response_url to answer through
    state: object  # the clicked message's inputs as they stood (read with `typed`)

    @classmethod
    def decode(cls, body: object) -> Click | None:
        """The click of a block_actions body (its first action), else None (no user who clicked)."""
        body = _dict(body)
        user_id = _dict(body.get("user")).get("id")
        if not isinstance(user_id, str) or not user_id:
            return None
        actions = body.get("actions")
        action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        channel = _dict(body.get("channel")).get("id") or _dict(body.get("container")).get("channel_id")
        return cls(
            user_id=user_id,
            channel_id=str(channel or ""),
            trigger_id=str(body.get("trigger_id") or ""),
            value=action.get("value"),
            block_id=str(action.get("block_id", "")),
            selected=selected_option(action),
            ticked=selected_options(action),
            answerable=bool(body.get("response_url")),
            state=body.get("state"),
        )

    def typed(self, block: str, field: str) -> Any:
        """What an input of the clicked message held (see bodies.state_value), None when it has none."""
        return state_value({"state": self.state}, block, field)


@dataclass(frozen=True)
class Submission:
    """A modal submitted (a view_submission delivery): who, which view, and the view with its inputs."""

    user_id: str
    view_id: str
    team_id: str | None
    metadata: object  # the view's private_metadata, for its payload's decode
    view: dict[str, Any]  # read with bodies.state_value

    @classmethod
    def decode(cls, body: object) -> Submission | None:
        """The submission of a view_submission body, else None (no user, or no view)."""
        body = _dict(body)
        user_id, view = _dict(body.get("user")).get("id"), body.get("view")
        if not isinstance(user_id, str) or not user_id or not isinstance(view, dict):
            return None
        team_id = _dict(body.get("team")).get("id")
        return cls(
            user_id=user_id,
            view_id=str(view.get("id", "")),
            team_id=team_id if isinstance(team_id, str) else None,
            metadata=view.get("private_metadata"),
            view=view,
        )


_TS = re.compile(r"^\d{9,11}\.\d{1,6}$")
_ID = re.compile(r"^[A-Z0-9]{2,32}$")
NO_TEXT = "(no text)"  # what the timeline says of a message that is a file or an emoji alone


def is_slack_id(value: object) -> TypeGuard[str]:
    """Whether a value looks like a Slack id (`U0123ABCD`, `C0123ABCD`)."""
    return isinstance(value, str) and bool(_ID.match(value))


@dataclass(frozen=True)
class MessageRef:
    """A message of a channel as an event names it: the channel and the message's ts."""

    channel_id: str
    ts: str  # `1700000000.000100`

    @classmethod
    def decode(cls, channel_id: object, ts: object) -> MessageRef | None:
        """The message of that channel and ts, else None (either is not of Slack's form)."""
        if not is_slack_id(channel_id) or not isinstance(ts, str) or not _TS.match(ts):
            return None
        return cls(channel_id, ts)

    @property
    def at(self) -> datetime:
        """When the message was posted (its ts), in UTC."""
        return datetime.fromtimestamp(float(self.ts), tz=UTC)


def chat_message(message: object) -> ChatMessage | None:
    """A Slack message object (in an event, or from conversations.history) as the timeline keeps it: its
    text within Hashi's limit (NO_TEXT without any), its author when that is a user id; None when it is not
    an object."""
    if not isinstance(message, dict) or not message:
        return None
    raw, author = message.get("text"), message.get("user")
    text = clipped(raw) if isinstance(raw, str) and raw.strip() else NO_TEXT
    return ChatMessage(text=text, author=author if is_slack_id(author) else None)
