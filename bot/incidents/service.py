"""IncidentService: the one door to the incident record, a thin facade over modules by subject.

Each verb lives in the module of its subject, which a newcomer finds by name: access (who may see and do
what), reading, declaring (and the Slack room), lifecycle (state changes), timeline (notes, Slack messages,
who is in the room), checklists (playbooks), shaping (type, custom fields, services), scheduler (reminders
in Slack's scheduler); core holds what they share: one transaction per change, visibility checked inside it,
then Slack's effects (effects.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.access import Access, may_see
from bot.incidents.alerts import Alerting
from bot.incidents.checklists import Checklists
from bot.incidents.core import LEAD_ROLE, Core, IncidentConfig, PagingPolicy, Parts, clean
from bot.incidents.declaring import SETUP_IN_PROGRESS, SETUP_STEPS, Declaring, RoomSetup
from bot.incidents.effects import Effects
from bot.incidents.followups import FollowupRecorded, Followups
from bot.incidents.lifecycle import Lifecycle
from bot.incidents.outside import StatusPage, Tracker
from bot.incidents.paging import Paging
from bot.incidents.ports import Chat, Clock, Directory, Pager
from bot.incidents.reading import Reading
from bot.incidents.scheduler import Scheduler
from bot.incidents.shaping import Shaping
from bot.incidents.statuspage import StatusPages
from bot.incidents.timeline import Timeline
from storage.repository import Store

__all__ = [
    "LEAD_ROLE",
    "SETUP_IN_PROGRESS",
    "SETUP_STEPS",
    "FollowupRecorded",
    "IncidentConfig",
    "IncidentService",
    "PagingPolicy",
    "RoomSetup",
    "clean",
    "may_see",
]


class IncidentService:
    """Declares and runs incidents: validates, records on the timeline, commits, then asks Chat."""

    def __init__(
        self,
        *,
        store: Store,
        chat: Chat,
        clock: Clock,
        config: IncidentConfig,
        directory: Directory | None = None,
        tracker: Tracker | None = None,
        private_details: bool = False,
        status_page: StatusPage | None = None,
        components: Mapping[str, str] | None = None,
        lang: Lang = DEFAULT_LANG,
        pager: Pager | None = None,
    ) -> None:
        """`tracker`: where follow-ups become tickets (`private_details`: a private incident's tickets may
        say what it is); `status_page` with each service's component id: the public status page."""
        self._store = store
        self._core = core = Core(
            store=store, chat=chat, clock=clock, config=config, directory=directory, pager=pager
        )
        parts = core.parts = Parts(
            access=Access(core),
            reading=Reading(core),
            declaring=Declaring(core),
            lifecycle=Lifecycle(core),
            timeline=Timeline(core),
            checklists=Checklists(core),
            scheduler=Scheduler(core),
            shaping=Shaping(core),
            paging=Paging(core),
        )
        core.effects = Effects(
            store=store,
            chat=chat,
            sync_reminders=lambda incident_id, snap: parts.scheduler.sync_reminders(
                incident_id=incident_id, current=snap
            ),
        )
        # Who may see and do what
        self.authorize = parts.access.authorize
        self.check_visible = parts.access.check_visible
        self.visible_snapshot = parts.access.visible_snapshot
        self.visible_timeline = parts.access.visible_timeline
        self.visible_incidents = parts.access.visible_incidents
        self.private_incidents_of = parts.access.private_incidents_of
        # Reading
        self.snapshot = parts.reading.snapshot
        self.incident_for_channel = parts.reading.incident_for_channel
        self.list_incidents = parts.reading.list_incidents
        self.stats_rows = parts.reading.stats_rows
        self.first_start = parts.reading.first_start
        # Declaring and the room
        self.severity = parts.declaring.severity
        self.declare = parts.declaring.declare
        self.ensure_room = parts.declaring.ensure_room
        self.repair_rooms = parts.declaring.repair_rooms
        self.channel_name = parts.declaring.channel_name
        # The lifecycle
        self.set_severity = parts.lifecycle.set_severity
        self.set_status = parts.lifecycle.set_status
        self.acknowledge = parts.lifecycle.acknowledge
        self.mark_mitigated = parts.lifecycle.mark_mitigated
        self.set_milestone = parts.lifecycle.set_milestone
        self.assign_role = parts.lifecycle.assign_role
        self.resolve = parts.lifecycle.resolve
        self.reopen = parts.lifecycle.reopen
        self.close = parts.lifecycle.close
        # The timeline and the people in the room
        self.add_note = parts.timeline.add_note
        self.update_slack_message = parts.timeline.update_slack_message
        self.capture_message = parts.timeline.capture_message
        self.follow_message = parts.timeline.follow_message
        self.latest_entries = parts.timeline.latest_entries
        self.timeline_entry = parts.timeline.entry
        self.edit_entry = parts.timeline.edit_entry
        self.record_participant = parts.timeline.record_participant
        self.record_departure = parts.timeline.record_departure
        self.follow_private_rooms = parts.timeline.follow_private_rooms
        # The record's shape: type, custom fields, services
        self.set_type = parts.shaping.set_type
        self.set_field = parts.shaping.set_field
        self.set_services = parts.shaping.set_services
        # Checklists
        self.start_playbook = parts.checklists.start_playbook
        self.tick_items = parts.checklists.tick_items
        # Reminders
        self.sync_reminders = parts.scheduler.sync_reminders
        self.reconcile_reminders = parts.scheduler.reconcile_reminders
        # Follow-ups and their tickets
        self.followups = Followups(core, tracker=tracker, private_details=private_details, lang=lang)
        self.add_followup = self.followups.add_followup
        # The public status page
        self.status_pages = StatusPages(core, page=status_page, components=components)
        self.refresh_due_reminders = parts.scheduler.refresh_due_reminders
        self.cadence = parts.scheduler.cadence
        # Pages out
        self.page = parts.paging.page
        self.send_due_pages = parts.paging.send_due
        self.paging = parts.paging
        # Alerts in
        self.receive_alerts = Alerting(core).receive_alerts

    @property
    def config(self) -> IncidentConfig:
        """The team's configuration (settable: every subject reads the new one)."""
        return self._core.config

    @config.setter
    def config(self, config: IncidentConfig) -> None:
        self._core.config = config

    @property
    def effects(self) -> Effects:
        """Shows committed changes in Slack (bot.incidents.effects)."""
        return self._core.effects
