"""Bolt listeners, one module per surface (commands, actions, views, events): each a module-level function
that takes the Deps first, then the arguments Bolt passes by name; LISTENERS registers them all."""

from __future__ import annotations

import re
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp

from bot.slack.ids import Action, View
from bot.slack.inbox import Listener
from bot.slack.listeners import actions, commands, events, views
from bot.slack.listeners.context import Deps, with_deps

Surface = Literal["command", "action", "view", "event"]


def _pages(action: Action) -> re.Pattern[str]:
    """The newer and older buttons of a paged list (`<action>_prev`, `<action>_next`)."""
    return re.compile(f"^{action}_(prev|next)$")


# Every durable listener: the surface and matcher it is registered with (Bolt tries them in this order; a
# replayed delivery finds its listener again by the same matcher), and the listener.
LISTENERS: tuple[tuple[Surface, Any, Listener], ...] = (
    ("command", "/incident", commands.incident_command),
    ("action", Action.ACK, actions.ack_clicked),
    ("action", Action.SEVERITY, actions.severity_chosen),
    ("action", Action.STATUS, actions.status_chosen),
    ("action", Action.NOTE, actions.note_clicked),
    ("action", Action.RESOLVE, actions.resolve_clicked),
    ("action", Action.RESOLVE_ANYWAY, actions.resolve_anyway_clicked),
    ("action", Action.STATUSPAGE_UPDATE, actions.statuspage_update_confirmed),
    ("action", Action.REOPEN, actions.reopen_clicked),
    ("action", Action.EXPORT, actions.export_clicked),
    ("action", Action.RETRY_SETUP, actions.retry_clicked),
    ("action", Action.CHECKLIST, actions.checklist_ticked),
    ("action", Action.DECLARE, actions.declare_clicked),
    ("action", _pages(Action.LIST_PAGE), actions.list_page_clicked),
    ("action", _pages(Action.TIMELINE_PAGE), actions.timeline_page_clicked),
    ("action", Action.TIMELINE_EDIT, actions.entry_edit_clicked),
    ("action", _pages(Action.HOME_PAGE), actions.home_page_clicked),
    ("view", View.DECLARE, views.declare_submitted),
    ("view", View.NOTE, views.note_submitted),
    ("view", View.ENTRY, views.entry_edited),
    ("view", View.RESOLVE, views.resolve_submitted),
    ("event", "pin_added", events.pin_added),
    ("event", "pin_removed", events.pin_removed),
    ("event", "reaction_added", events.reaction_added),
    ("event", "reaction_removed", events.reaction_removed),
    ("event", {"type": "message", "subtype": "message_changed"}, events.message_changed),
    ("event", {"type": "message", "subtype": "message_deleted"}, events.message_deleted),
    ("event", "member_joined_channel", events.member_joined),
    ("event", "member_left_channel", events.member_left),
    ("event", "app_home_opened", events.home_opened),
)


def register_all(app: AsyncApp, deps: Deps) -> None:
    """Adds every listener to the app: each durable (recorded before its ack, bot.slack.inbox), then plain
    messages, answered without a record (after message_changed and message_deleted, tried first)."""
    surfaces = {"command": app.command, "action": app.action, "view": app.view, "event": app.event}
    for surface, matcher, listener in LISTENERS:
        deps.inbox.listen(surfaces[surface], matcher)(with_deps(listener, deps))
    app.event("message")(events.message_posted)
