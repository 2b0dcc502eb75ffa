"""The incident's card and buttons, its topic, announcement, and the texts of its changes and reminders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.i18n import Lang, t
from bot.incidents.escaping import escape_mrkdwn, plain_excerpt
from bot.incidents.fields import (
    RecordShape,
    ordered_fields,
    shown_value,
)
from bot.incidents.model import (
    DEFAULT_TYPE,
    IncidentSnapshot,
    Status,
    TimelineEntry,
)
from bot.incidents.reminders import Reminder, ReminderKind
from bot.slack.blocks.mrkdwn import (
    MAX_SECTION_FIELDS,
    STATUS_EMOJI,
    incident_ref,
    mention,
    plain,
    severity_options,
    slack_time,
    status_label,
    status_options,
    user_text,
)
from bot.slack.ids import Action
from bot.slack.ids import Block as BlockId
from bot.slack.payloads import (
    IncidentRef,
)


def card_text(incident: IncidentSnapshot) -> str:
    """The notification fallback of the incident card."""
    return f"{incident_ref(incident)} [{incident.severity}] {user_text(plain_excerpt(incident.title, 150))}"


def web_link(incident: IncidentSnapshot, public_url: str, lang: Lang) -> str:
    """A mrkdwn link to the incident's page on the web dashboard (HASHI_PUBLIC_URL)."""
    return f"<{public_url}/incidents/{incident.id}|{t('slack.card.web', lang)}>"


def card_blocks(
    incident: IncidentSnapshot,
    *,
    severities: Sequence[str],
    lang: Lang,
    shape: RecordShape | None = None,
    public_url: str | None = None,
) -> list[dict[str, Any]]:
    """The pinned incident card: what, how bad, who leads, where it stands, its type and custom fields, and
    buttons to move it (and a link to its page on the web dashboard when there is one)."""
    m = incident.milestones

    def field(name: str, value: str) -> MarkdownTextObject:
        return MarkdownTextObject(text=f"*{t(f'slack.card.{name}', lang)}*\n{value}")

    status = f"{STATUS_EMOJI[incident.status]} {status_label(incident.status, lang)}"
    fields = [
        field("severity", escape_mrkdwn(incident.severity)),
        field("status", status),
        field("lead", mention(incident.lead, lang)),
        field("declared", slack_time(m.declared_at, lang)),
    ]
    if incident.services:
        fields.append(field("services", user_text(", ".join(incident.services), limit=1900)))
    if incident.private:
        fields.append(field("visibility", t("slack.card.private", lang)))
    if (shape is not None and len(shape.types) > 1) or incident.incident_type != DEFAULT_TYPE:
        fields.append(field("type", escape_mrkdwn(incident.incident_type)))
    for name, spec, value in ordered_fields(shape.fields if shape else (), incident.fields):
        label = escape_mrkdwn(spec.label(lang) if spec else name)
        fields.append(
            MarkdownTextObject(text=f"*{label}*\n{user_text(shown_value(spec, value), limit=1900)}")
        )
    fields = fields[:MAX_SECTION_FIELDS]
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"{incident_ref(incident)} · {incident.title}", 150)),
        SectionBlock(fields=fields),
    ]
    if incident.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=user_text(incident.summary))))
    reached = [
        ("impact_started", m.impact_started_at),
        ("detected", m.detected_at),
        ("acknowledged", m.acknowledged_at),
        ("mitigated", m.mitigated_at),
        ("resolved", m.resolved_at),
    ]
    line = " · ".join(
        f"{t(f'slack.card.{name}', lang)} {slack_time(at, lang)}" for name, at in reached if at is not None
    )
    if line:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]))
    progress = checklist_progress(incident, lang)
    if progress:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=progress)]))
    paging = paging_line(incident, lang)
    if paging:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=paging)]))
    if public_url:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=web_link(incident, public_url, lang))]))
    blocks.append(
        ActionsBlock(block_id=BlockId.CARD_ACTIONS, elements=card_buttons(incident, severities, lang))
    )
    return [b.to_dict() for b in blocks]


def checklist_progress(incident: IncidentSnapshot, lang: Lang) -> str:
    """`:ballot_box_with_check: triage 3/7` per playbook, or an empty string."""
    by_playbook: dict[str, list[bool]] = {}
    for item in incident.checklists:
        by_playbook.setdefault(item.playbook, []).append(item.done)
    parts = [f"{escape_mrkdwn(name)} {sum(done)}/{len(done)}" for name, done in by_playbook.items()]
    return t("slack.card.checklists", lang, progress=" · ".join(parts)) if parts else ""


def card_buttons(incident: IncidentSnapshot, severities: Sequence[str], lang: Lang) -> list[Any]:
    """The card's actions for the incident's current state."""
    value = IncidentRef(incident.id).encode()

    def label(name: str) -> str:
        return t(f"slack.button.{name}", lang)

    export = ButtonElement(text=label("export"), action_id=Action.EXPORT, value=value)
    if not incident.status.is_open:
        buttons: list[Any] = [export]
        if incident.status is Status.RESOLVED:
            buttons.insert(0, ButtonElement(text=label("reopen"), action_id=Action.REOPEN, value=value))
        return buttons
    buttons = []
    if incident.milestones.acknowledged_at is None:
        buttons.append(ButtonElement(text=label("ack"), action_id=Action.ACK, value=value, style="primary"))
    buttons += [
        StaticSelectElement(
            action_id=Action.SEVERITY,
            placeholder=PlainTextObject(text=label("severity")),
            options=severity_options(severities),
        ),
        StaticSelectElement(
            action_id=Action.STATUS,
            placeholder=PlainTextObject(text=label("status")),
            options=status_options(lang),
        ),
        ButtonElement(text=label("note"), action_id=Action.NOTE, value=value),
        ButtonElement(text=label("resolve"), action_id=Action.RESOLVE, value=value, style="danger"),
        export,
    ]
    return buttons


def paging_line(incident: IncidentSnapshot, lang: Lang) -> str:
    """The card's line about PagerDuty: the pages that went out, and any that failed or are being retried."""
    if not incident.pages:
        return ""
    triggers = [p for p in incident.pages if p.action == "trigger"]
    sent = sum(1 for p in triggers if p.status == "sent")
    parts = [t("slack.card.pages_sent", lang, count=sent)] if sent else []
    for page in incident.pages:
        if page.error and page.status != "sent":
            key = "slack.card.page_failed" if page.status == "failed" else "slack.card.page_retrying"
            parts.append(
                t(key, lang, action=page.action, error=escape_mrkdwn(plain_excerpt(page.error, 200)))
            )
    return " · ".join(parts)


def change_text(incident: IncidentSnapshot, change: TimelineEntry, lang: Lang) -> str:
    """The short line posted in the channel for one change."""
    who = f"<@{change.actor}> " if change.actor else ""
    backdated = ""
    if abs((change.recorded_at - change.at).total_seconds()) > 120:
        backdated = t("slack.backdated", lang, at=slack_time(change.at, lang))
    return f"*{incident_ref(incident)}* · {who}{user_text(change.text_in(lang), limit=2800)}{backdated}"


def topic_text(incident: IncidentSnapshot, lang: Lang) -> str:
    """The channel topic (Slack allows 250 characters; plain text, so nothing can be pinged)."""
    lead = t("slack.topic_lead", lang, user=incident.lead) if incident.lead else ""
    head = f"{escape_mrkdwn(incident.severity)} · {status_label(incident.status, lang)}{lead} · "
    return head + plain_excerpt(escape_mrkdwn(incident.title), 250 - len(head))


def reminder_text(incident: IncidentSnapshot, reminder: Reminder, lang: Lang) -> str:
    """The text of a scheduled reminder: who it is for, what is due, how to do it."""
    who = "".join(f"<@{user}> " for user in reminder.mentions)
    ref = incident_ref(incident)
    if reminder.kind is ReminderKind.STATUS_UPDATE:
        return who + t("slack.reminder.status_update", lang, ref=ref)
    if reminder.kind is ReminderKind.STATUS_OVERDUE:
        return who + t("slack.reminder.status_overdue", lang, ref=ref)
    # Slack takes 40,000 characters in a message; a checklist's titles (300 each) stay far below that.
    titles = "".join(f"\n• {user_text(title, limit=300)}" for title in reminder.titles)
    return who + t("slack.reminder.item_due", lang, ref=ref, title=titles)


def announcement_blocks(incident: IncidentSnapshot, lang: Lang) -> list[dict[str, Any]]:
    """The announcement of a new (public) incident."""
    channel = f"<#{incident.channel_id}>" if incident.channel_id else t("slack.no_channel_yet", lang)
    text = t(
        "slack.announcement",
        lang,
        ref=incident_ref(incident),
        severity=escape_mrkdwn(incident.severity),
        title=user_text(incident.title, limit=500),
        by=mention(incident.declared_by, lang) if incident.declared_by else t("slack.by_alert", lang),
        channel=channel,
    )
    return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
