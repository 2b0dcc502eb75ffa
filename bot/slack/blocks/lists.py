"""Lists of incidents (`/incident list`, App Home) and the timeline's pages, with their page buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.i18n import Lang, t
from bot.incidents.escaping import escape_mrkdwn
from bot.incidents.model import (
    IncidentSnapshot,
    TimelineEntry,
)
from bot.slack.blocks.card import web_link
from bot.slack.blocks.mrkdwn import incident_ref, plain, slack_time, status_label, user_text
from bot.slack.ids import Action
from bot.slack.payloads import (
    EntryEditButton,
    PageButton,
    TimelinePageButton,
)


def incident_line(incident: IncidentSnapshot, lang: Lang) -> str:
    """One incident in a list."""
    return t(
        "slack.list.line",
        lang,
        ref=incident_ref(incident),
        severity=escape_mrkdwn(incident.severity),
        status=status_label(incident.status, lang),
        lock=" :lock:" if incident.private else "",
        title=user_text(incident.title, limit=300),
        channel=f" · <#{incident.channel_id}>" if incident.channel_id else "",
        declared=slack_time(incident.milestones.declared_at, lang),
    )


TIMELINE_PAGE_SIZE = 10  # entries a `/incident timeline` page shows, each with its Edit button


def entry_line(entry: TimelineEntry, lang: Lang) -> str:
    """One timeline entry in the `/incident timeline` list: when (in the reader's zone), who, what."""
    return t(
        "slack.timeline.line",
        lang,
        when=slack_time(entry.at, lang),
        who=t("slack.timeline.by", lang, user=entry.actor) if entry.actor else "",
        text=user_text(entry.text_in(lang), limit=600),
        edited=t("slack.timeline.edited", lang) if entry.edited_at is not None else "",
    )


def timeline_blocks(
    entries: Sequence[TimelineEntry], *, incident_id: int, page: Page, lang: Lang
) -> list[dict[str, Any]]:
    """One page of an incident's timeline, latest first, an Edit button beside each (stored) entry."""
    if not page.total:
        text = t("slack.timeline.empty", lang, id=incident_id)
        return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    header = t("slack.timeline.header", lang, id=incident_id, count=page.total)
    blocks: list[Block] = [HeaderBlock(text=plain(header, 150))]
    for entry in entries[: page.size]:
        button = (
            ButtonElement(
                text=t("slack.timeline.edit", lang),
                action_id=Action.TIMELINE_EDIT,
                value=EntryEditButton(incident_id, entry.id).encode(),
            )
            if entry.id is not None
            else None
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=entry_line(entry, lang)), accessory=button))
    blocks += _page_buttons(
        page,
        action_id=Action.TIMELINE_PAGE,
        value=lambda number: TimelinePageButton(incident_id, number).encode(),
        where="slack.timeline.page",
        lang=lang,
    )
    return [b.to_dict() for b in blocks]


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


def _page_buttons(
    page: Page, *, action_id: str, value: Callable[[int], str], where: str, lang: Lang
) -> list[Block]:
    """Which page this is and buttons to the newer and older ones (`value` encodes a page's number as its
    button's value); nothing when there is one page."""
    if page.count <= 1:
        return []
    buttons = []
    if page.number > 1:
        buttons.append(
            ButtonElement(
                text=t("slack.list.newer", lang),
                action_id=f"{action_id}_prev",
                value=value(page.number - 1),
            )
        )
    if page.number < page.count:
        buttons.append(
            ButtonElement(
                text=t("slack.list.older", lang),
                action_id=f"{action_id}_next",
                value=value(page.number + 1),
            )
        )
    text = t(where, lang, number=page.number, count=page.count)
    return [ContextBlock(elements=[MarkdownTextObject(text=text)]), ActionsBlock(elements=buttons)]


def list_blocks(
    incidents: Sequence[IncidentSnapshot],
    *,
    page: Page,
    action_id: str,
    lang: Lang,
    public_url: str | None = None,
) -> list[dict[str, Any]]:
    """One page of open incidents, newest first, with buttons to the other pages (and links to their web
    pages when the dashboard has an address)."""
    if not page.total:
        return [SectionBlock(text=MarkdownTextObject(text=t("slack.list.empty", lang))).to_dict()]
    blocks: list[Block] = [HeaderBlock(text=plain(t("slack.list.header", lang, count=page.total), 150))]
    blocks += [
        SectionBlock(
            text=MarkdownTextObject(
                text=incident_line(i, lang) + (f" · {web_link(i, public_url, lang)}" if public_url else "")
            )
        )
        for i in incidents[: page.size]
    ]
    blocks += _page_buttons(
        page,
        action_id=action_id,
        value=lambda number: PageButton(number).encode(),
        where="slack.list.page",
        lang=lang,
    )
    return [b.to_dict() for b in blocks]


def home_view(
    incidents: Sequence[IncidentSnapshot], *, page: Page, lang: Lang, public_url: str | None = None
) -> dict[str, Any]:
    """App Home: open incidents the user may see (each linked to its web page when the dashboard has an
    address), and how to declare one."""
    intro = SectionBlock(
        text=MarkdownTextObject(text=t("slack.home.intro", lang)),
        accessory=ButtonElement(text=t("slack.home.declare", lang), action_id=Action.DECLARE, style="danger"),
    )
    blocks = [
        intro.to_dict(),
        DividerBlock().to_dict(),
        *list_blocks(incidents, page=page, action_id=Action.HOME_PAGE, lang=lang, public_url=public_url),
    ]
    return {"type": "home", "blocks": blocks}
