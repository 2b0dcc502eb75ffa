"""Bolt listeners, one module per surface: commands, actions, views, events."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import actions, commands, events, views
from bot.slack.listeners.context import Deps


def register_all(app: AsyncApp, deps: Deps) -> None:
    """Adds every listener to the app."""
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
