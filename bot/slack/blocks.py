"""Pure Block Kit builders: domain values in, validated Slack blocks and views out."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as SlackView

from bot.incidents.escaping import escape_mrkdwn, plain_excerpt
from bot.incidents.model import SETTABLE_STATUSES, IncidentSnapshot, Status, TimelineEntry
from bot.incidents.reminders import Reminder, ReminderKind
from bot.slack.ids import Action, Field, View
from bot.slack.ids import Block as BlockId
from bot.slack.parse import id_number

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT_LIMIT = 3000
# A user mention that survived escaping (`&lt;@U123|name&gt;`) is put back: pinging a person someone named is
# intended; `<!channel>`, `<!here>` and `<!subteam^…>` are never put back.
_SAFE_MENTION = re.compile(r"&lt;([@#][UWC][A-Z0-9]{2,})(\|[^&|]{0,80})?&gt;")
STATUS_LABEL = {
    Status.INVESTIGATING: "Investigating",
    Status.IDENTIFIED: "Identified",
    Status.MONITORING: "Monitoring",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
}
STATUS_EMOJI = {
    Status.INVESTIGATING: ":mag:",
    Status.IDENTIFIED: ":bulb:",
    Status.MONITORING: ":eyes:",
    Status.RESOLVED: ":white_check_mark:",
    Status.CLOSED: ":lock:",
}


def user_text(text: str, *, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Untrusted text as safe mrkdwn: escaped, with plain user/channel mentions kept, within a length."""
    escaped = _SAFE_MENTION.sub(lambda m: f"<{m.group(1)}>", escape_mrkdwn(text))
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def slack_time(dt: datetime | None) -> str:
    """A time Slack shows in each reader's own time zone, with the date (`<!date^…>`)."""
    if dt is None:
        return "—"
    fallback = dt.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(dt.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mention(user_id: str | None) -> str:
    """A Slack user mention, or a placeholder."""
    return f"<@{user_id}>" if user_id else "_unassigned_"


def incident_ref(incident: IncidentSnapshot) -> str:
    """`INC-12`."""
    return f"INC-{incident.id}"


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=plain_excerpt(text, limit) or " ", emoji=True)


def _severity_options(severities: Sequence[str]) -> list[Option]:
    return [Option(text=PlainTextObject(text=code), value=code) for code in severities]


def _status_options() -> list[Option]:
    return [Option(text=PlainTextObject(text=STATUS_LABEL[s]), value=s.value) for s in SETTABLE_STATUSES]


def card_text(incident: IncidentSnapshot) -> str:
    """The notification fallback of the incident card."""
    return f"{incident_ref(incident)} [{incident.severity}] {user_text(plain_excerpt(incident.title, 150))}"


def card_blocks(incident: IncidentSnapshot, *, severities: Sequence[str]) -> list[dict[str, Any]]:
    """The pinned incident card: what, how bad, who leads, where it stands, and buttons to move it."""
    m = incident.milestones
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{incident.severity}"),
        MarkdownTextObject(text=f"*Status*\n{STATUS_EMOJI[incident.status]} {STATUS_LABEL[incident.status]}"),
        MarkdownTextObject(text=f"*Lead*\n{mention(incident.lead)}"),
        MarkdownTextObject(text=f"*Declared*\n{slack_time(m.declared_at)}"),
    ]
    if incident.services:
        fields.append(
            MarkdownTextObject(text="*Services*\n" + user_text(", ".join(incident.services), limit=1900))
        )
    if incident.private:
        fields.append(MarkdownTextObject(text="*Visibility*\n:lock: Private"))
    blocks: list[Block] = [
        HeaderBlock(text=_plain(f"{incident_ref(incident)} · {incident.title}", 150)),
        SectionBlock(fields=fields),
    ]
    if incident.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=user_text(incident.summary))))
    reached = [
        ("Impact started", m.impact_started_at),
        ("Detected", m.detected_at),
        ("Acknowledged", m.acknowledged_at),
        ("Mitigated", m.mitigated_at),
        ("Resolved", m.resolved_at),
    ]
    line = " · ".join(f"{name} {slack_time(at)}" for name, at in reached if at is not None)
    if line:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]))
    progress = checklist_progress(incident)
    if progress:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=progress)]))
    blocks.append(ActionsBlock(block_id=BlockId.CARD_ACTIONS, elements=card_buttons(incident, severities)))
    return [b.to_dict() for b in blocks]


def checklist_progress(incident: IncidentSnapshot) -> str:
    """`Checklist: 3/7 done` per playbook, or an empty string."""
    by_playbook: dict[str, list[bool]] = {}
    for item in incident.checklists:
        by_playbook.setdefault(item.playbook, []).append(item.done)
    parts = [f"{escape_mrkdwn(name)} {sum(done)}/{len(done)}" for name, done in by_playbook.items()]
    return ":ballot_box_with_check: " + " · ".join(parts) if parts else ""


def card_buttons(incident: IncidentSnapshot, severities: Sequence[str]) -> list[Any]:
    """The card's actions for the incident's current state."""
    value = str(incident.id)
    if not incident.status.is_open:
        buttons: list[Any] = [ButtonElement(text="Export postmortem", action_id=Action.EXPORT, value=value)]
        if incident.status is Status.RESOLVED:
            buttons.insert(0, ButtonElement(text="Reopen", action_id=Action.REOPEN, value=value))
        return buttons
    buttons = []
    if incident.milestones.acknowledged_at is None:
        buttons.append(ButtonElement(text="Acknowledge", action_id=Action.ACK, value=value, style="primary"))
    buttons += [
        StaticSelectElement(
            action_id=Action.SEVERITY,
            placeholder=PlainTextObject(text="Severity"),
            options=_severity_options(severities),
        ),
        StaticSelectElement(
            action_id=Action.STATUS, placeholder=PlainTextObject(text="Status"), options=_status_options()
        ),
        ButtonElement(text="Add note", action_id=Action.NOTE, value=value),
        ButtonElement(text="Resolve", action_id=Action.RESOLVE, value=value, style="danger"),
        ButtonElement(text="Export postmortem", action_id=Action.EXPORT, value=value),
    ]
    return buttons


def change_text(incident: IncidentSnapshot, change: TimelineEntry) -> str:
    """The short line posted in the channel for one change."""
    who = f"<@{change.actor}> " if change.actor else ""
    backdated = ""
    if abs((change.recorded_at - change.at).total_seconds()) > 120:
        backdated = f" (at {slack_time(change.at)})"
    return f"*{incident_ref(incident)}* · {who}{user_text(change.text, limit=2800)}{backdated}"


def topic_text(incident: IncidentSnapshot) -> str:
    """The channel topic (Slack allows 250 characters; plain text, so nothing can be pinged)."""
    lead = f" · lead <@{incident.lead}>" if incident.lead else ""
    head = f"{incident.severity} · {STATUS_LABEL[incident.status]}{lead} · "
    return head + plain_excerpt(escape_mrkdwn(incident.title), 250 - len(head))


def reminder_text(incident: IncidentSnapshot, reminder: Reminder) -> str:
    """The text of a scheduled reminder: who it is for, what is due, how to do it."""
    who = f"<@{reminder.mention}> " if reminder.mention else ""
    ref = incident_ref(incident)
    if reminder.kind is ReminderKind.STATUS_UPDATE:
        return (
            f"{who}:alarm_clock: Time for a status update on *{ref}*: where do things stand? "
            "`/incident status <investigating|identified|monitoring> <what changed>`"
        )
    if reminder.kind is ReminderKind.STATUS_OVERDUE:
        return (
            f"{who}:rotating_light: *{ref}* is overdue for a status update. "
            "Please post one, e.g. `/incident status identified Rolling back the deploy`."
        )
    return f"{who}:hourglass: Due now on *{ref}*: {user_text(reminder.title, limit=500)}"


def announcement_blocks(incident: IncidentSnapshot) -> list[dict[str, Any]]:
    """The announcement of a new (public) incident."""
    channel = f"<#{incident.channel_id}>" if incident.channel_id else "_channel not created yet_"
    title = user_text(incident.title, limit=500)
    text = (
        f":rotating_light: *{incident_ref(incident)}* [{incident.severity}] {title}\n"
        f"Declared by {mention(incident.declared_by)} · join {channel}"
    )
    return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]


def _input(
    block_id: str, label: str, element: Any, *, optional: bool = False, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=element,
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
    )


TIME_HINT = "14:05 · 14:05 JST · 2026-11-24 14:05 · 10m ago — empty means now"


def declare_modal(
    *, severities: Sequence[str], default_severity: str, channel_id: str = ""
) -> dict[str, Any]:
    """The declare modal: title, severity, services, summary, private, detected at."""
    options = _severity_options(severities)
    initial = next((o for o in options if o.value == default_severity), options[0])
    view = SlackView(
        type="modal",
        callback_id=View.DECLARE,
        private_metadata=channel_id,
        title=PlainTextObject(text="Declare an incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            _input(BlockId.TITLE, "Title", PlainTextInputElement(action_id=Field.TITLE, max_length=150)),
            _input(
                BlockId.SEVERITY,
                "Severity",
                StaticSelectElement(action_id=Field.SEVERITY, options=options, initial_option=initial),
            ),
            _input(
                BlockId.SERVICES,
                "Services",
                PlainTextInputElement(action_id=Field.SERVICES, max_length=500),
                optional=True,
                hint="Comma-separated, e.g. checkout, payments",
            ),
            _input(
                BlockId.SUMMARY,
                "What is happening?",
                PlainTextInputElement(action_id=Field.SUMMARY, multiline=True, max_length=2900),
                optional=True,
            ),
            _input(
                BlockId.PRIVATE,
                "Visibility",
                CheckboxesElement(
                    action_id=Field.PRIVATE,
                    options=[
                        Option(
                            text=PlainTextObject(text="Private incident (private channel)"), value="private"
                        )
                    ],
                ),
                optional=True,
            ),
            _input(
                BlockId.DETECTED,
                "Detected at",
                PlainTextInputElement(action_id=Field.DETECTED, max_length=60),
                optional=True,
                hint=TIME_HINT,
            ),
        ],
    )
    return view.to_dict()


def _text_and_time_modal(
    *,
    callback_id: str,
    incident_id: int,
    title: str,
    submit: str,
    text: tuple[str, str, str, bool],
    at: tuple[str, str, str],
) -> dict[str, Any]:
    """A modal asking for some text and when it happened; `text` is (block, action, label, optional)."""
    text_block, text_action, text_label, text_optional = text
    at_block, at_action, at_label = at
    view = SlackView(
        type="modal",
        callback_id=callback_id,
        private_metadata=str(incident_id),
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        blocks=[
            _input(
                text_block,
                text_label,
                PlainTextInputElement(action_id=text_action, multiline=True, max_length=2900),
                optional=text_optional,
            ),
            _input(
                at_block,
                at_label,
                PlainTextInputElement(action_id=at_action, max_length=60),
                optional=True,
                hint=TIME_HINT,
            ),
        ],
    )
    return view.to_dict()


def note_modal(*, incident_id: int) -> dict[str, Any]:
    """The add-note modal (text and an optional time)."""
    return _text_and_time_modal(
        callback_id=View.NOTE,
        incident_id=incident_id,
        title=f"Note on INC-{incident_id}",
        submit="Add",
        text=(BlockId.NOTE_TEXT, Field.NOTE_TEXT, "Note", False),
        at=(BlockId.NOTE_AT, Field.NOTE_AT, "When did it happen?"),
    )


def resolve_modal(*, incident_id: int) -> dict[str, Any]:
    """The resolve modal (summary and an optional time)."""
    return _text_and_time_modal(
        callback_id=View.RESOLVE,
        incident_id=incident_id,
        title=f"Resolve INC-{incident_id}",
        submit="Resolve",
        text=(BlockId.RESOLVE_SUMMARY, Field.RESOLVE_SUMMARY, "How was it resolved?", True),
        at=(BlockId.RESOLVE_AT, Field.RESOLVE_AT, "Resolved at"),
    )


def incident_line(incident: IncidentSnapshot) -> str:
    """One incident in a list."""
    channel = f" · <#{incident.channel_id}>" if incident.channel_id else ""
    lock = " :lock:" if incident.private else ""
    declared = slack_time(incident.milestones.declared_at)
    return (
        f"*{incident_ref(incident)}* [{incident.severity}] {STATUS_LABEL[incident.status]}{lock} · "
        f"{user_text(incident.title, limit=300)}{channel} · declared {declared}"
    )


LIST_PAGE_SIZE = 20  # a message holds 50 blocks: a header, 20 incidents, the page line and the buttons
HOME_PAGE_SIZE = 40  # App Home holds 100


@dataclass(frozen=True)
class Page:
    """One page of a list: which page, how many per page, how many in all."""

    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """Where the page starts."""
        return (self.number - 1) * self.size


def list_blocks(incidents: Sequence[IncidentSnapshot], *, page: Page, action_id: str) -> list[dict[str, Any]]:
    """One page of open incidents, newest first, with buttons to the other pages."""
    if not page.total:
        return [SectionBlock(text=MarkdownTextObject(text=":sunny: No open incidents.")).to_dict()]
    blocks: list[Block] = [HeaderBlock(text=_plain(f"Open incidents ({page.total})", 150))]
    blocks += [SectionBlock(text=MarkdownTextObject(text=incident_line(i))) for i in incidents[: page.size]]
    if page.count > 1:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Page {page.number} of {page.count}")]))
        buttons = []
        if page.number > 1:
            buttons.append(
                ButtonElement(text="Newer", action_id=f"{action_id}_prev", value=str(page.number - 1))
            )
        if page.number < page.count:
            buttons.append(
                ButtonElement(text="Older", action_id=f"{action_id}_next", value=str(page.number + 1))
            )
        blocks.append(ActionsBlock(elements=buttons))
    return [b.to_dict() for b in blocks]


def home_view(incidents: Sequence[IncidentSnapshot], *, page: Page) -> dict[str, Any]:
    """App Home: open incidents the user may see, and how to declare one."""
    intro = SectionBlock(
        text=MarkdownTextObject(
            text="Type `/incident` anywhere to declare an incident, `/incident help` for more."
        ),
        accessory=ButtonElement(text="Declare an incident", action_id=Action.DECLARE, style="danger"),
    )
    blocks = [
        intro.to_dict(),
        DividerBlock().to_dict(),
        *list_blocks(incidents, page=page, action_id=Action.HOME_PAGE),
    ]
    return {"type": "home", "blocks": blocks}


def message_blocks(text: str) -> list[dict[str, Any]]:
    """A mrkdwn message (already safe) as a section."""
    return [SectionBlock(text=MarkdownTextObject(text=text[:SECTION_TEXT_LIMIT])).to_dict()]


MAX_CHECKBOX_OPTIONS = 10


def checklist_blocks(incident: IncidentSnapshot) -> list[dict[str, Any]]:
    """The incident's checklists as checkbox groups (Slack allows 10 options each, so long lists split)."""
    if not incident.checklists:
        return message_blocks(f"INC-{incident.id} has no checklist. `/incident playbook <name>` starts one.")
    by_playbook: dict[str, list[Any]] = {}
    for item in incident.checklists:
        by_playbook.setdefault(item.playbook, []).append(item)
    out: list[Block] = []
    for playbook, items in by_playbook.items():
        done = sum(i.done for i in items)
        out.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*{escape_mrkdwn(playbook)}* · {done}/{len(items)} done")
            )
        )
        for start in range(0, len(items), MAX_CHECKBOX_OPTIONS):
            chunk = items[start : start + MAX_CHECKBOX_OPTIONS]
            options = [_checklist_option(i) for i in chunk]
            initial = [o for o, i in zip(options, chunk, strict=True) if i.done]
            element = CheckboxesElement(
                action_id=Action.CHECKLIST, options=options, initial_options=initial or None
            )
            block_id = checklist_block_id(incident_id=incident.id, start=start, playbook=playbook)
            out.append(ActionsBlock(block_id=block_id, elements=[element]))
        if len(out) >= MAX_MESSAGE_BLOCKS - 1:
            break
    return [b.to_dict() for b in out[:MAX_MESSAGE_BLOCKS]]


def checklist_block_id(*, incident_id: int, start: int, playbook: str) -> str:
    """`hashi_checklist_<incident>_<first item>_<playbook>`: enough to know which items a click concerns."""
    return f"hashi_checklist_{incident_id}_{start}_{playbook}"[:255]


def parse_checklist_block_id(block_id: str) -> tuple[int, int, str] | None:
    """(incident id, first item position, playbook) from a checklist block_id."""
    parts = block_id.split("_", 4)
    if len(parts) != 5 or parts[:2] != ["hashi", "checklist"]:
        return None
    incident_id, start = id_number(parts[2]), id_number(parts[3])
    if incident_id is None or start is None:
        return None
    return incident_id, start, parts[4]


def _checklist_option(item: Any) -> Option:
    gate = " (required)" if item.required else ""
    who = f"✓ {item.done_by}" if item.done and item.done_by else ""
    return Option(
        text=PlainTextObject(text=plain_excerpt(item.title + gate, 75)),
        value=f"{item.playbook}/{item.key}"[:150],
        description=PlainTextObject(text=plain_excerpt(who, 75)) if who else None,
    )


def gate_blocks(
    *, incident_id: int, items: Sequence[str], summary: str, at: datetime | None
) -> list[dict[str, Any]]:
    """Asks to confirm a resolve that would leave required checklist items open."""
    listed = "\n".join(f"• {user_text(title, limit=300)}" for title in items[:20])
    value = json.dumps({"id": incident_id, "summary": summary[:1500], "at": at.isoformat() if at else None})
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":no_entry: *INC-{incident_id}* has required checklist items open:\n{listed}\n"
                "Tick them in the checklist, or resolve anyway (the override goes on the timeline)."
            )
        ).to_dict(),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Resolve anyway", action_id=Action.RESOLVE_ANYWAY, value=value, style="danger"
                )
            ]
        ).to_dict(),
    ]
