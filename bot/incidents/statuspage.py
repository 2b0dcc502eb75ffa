"""The public status page (Atlassian Statuspage) follows an incident the lead chose to publish.

`/incident statuspage publish <message>` records the public incident first (its status, the message, the
components of the incident's services), and opens it at Statuspage after the commit. Later status changes in
Slack ask the one who made them to confirm an update with their message; confirmed, the update is recorded
and then sent. Whatever waits to be sent (a failure, a crash) is sent by the repair pass, by whoever claims
it (one sender at a time). Resolving sets the components back to operational. A private incident is never
published.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Core, Part, clean
from bot.incidents.errors import InvalidInput, InvalidTransition
from bot.incidents.model import OPEN_STATUSES, EventKind, Status
from bot.incidents.outside import OutsideError, StatusPage
from bot.incidents.permissions import Act
from storage.models import Incident, StatuspageIncident
from storage.repository import Repository

log = logging.getLogger(__name__)

# The component status an open incident shows, by its severity's rank (the worst first; the rest degraded).
IMPACT_BY_RANK = ("major_outage", "partial_outage")
DEGRADED = "degraded_performance"
OPERATIONAL = "operational"


class StatusPages(Part):
    """Publishing incidents on the public status page and keeping it in step."""

    def __init__(
        self, core: Core, *, page: StatusPage | None = None, components: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(core)
        self.page = page
        self.components = dict(components or {})

    def component_status(self, severity: str) -> str:
        """What the affected components show while an incident of that severity is open."""
        severities = self.config.severities
        rank = severities.index(severity) if severity in severities else len(severities)
        return IMPACT_BY_RANK[rank] if rank < len(IMPACT_BY_RANK) else DEGRADED

    async def publish(self, *, incident_id: int, actor: str, message: str) -> StatuspageIncident | None:
        """Opens a public incident for the incident's services' components; returns it as sent (None when
        Statuspage did not take it yet: the repair pass sends it)."""
        if not message.strip():
            raise InvalidInput(Msg("errors.statuspage_message_missing"))
        await self.parts.access.authorize(Act.STATUS, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            assert row.id is not None
            if self.page is None:  # said only to those who may see the incident (the same for all of them)
                raise InvalidInput(Msg("errors.statuspage_not_configured"))
            if row.private:
                raise InvalidInput(Msg("errors.statuspage_private", id=row.id))
            self._require_open(row, "statuspage")
            components = sorted({self.components[s] for s in row.services if s in self.components})
            if not components:
                services = ", ".join(row.services) or "—"
                raise InvalidInput(Msg("errors.statuspage_no_components", id=row.id, services=services))
            page = StatuspageIncident(
                incident_id=row.id,
                status=row.status,
                components=components,
                body=clean(message).strip(),
                asked=1,
                sent=0,
                published_by=actor,
                created_at=now,
                updated_at=now,
            )
            if not await repo.add_statuspage(page=page):
                raise InvalidInput(Msg("errors.statuspage_already", id=row.id))
            await self._event(
                repo,
                row,
                at=now,
                kind=EventKind.STATUSPAGE,
                actor=actor,
                text=Msg("timeline.statuspage_published", message=message.strip()),
                data={"status": row.status},
                fx=fx,
            )

        await self._change(incident_id, change, actor=actor)
        return await self.send(incident_id=incident_id)

    async def published(self, *, incident_id: int) -> bool:
        """Whether the incident has a public incident on the status page (recorded, sent or not)."""
        async with self._store.transaction() as repo:
            return await repo.statuspage(incident_id=incident_id) is not None

    async def update(
        self, *, incident_id: int, actor: str, status: Status, message: str
    ) -> StatuspageIncident | None:
        """Asks for an update of the public incident (a status and the lead's message), confirmed by the one
        who changed the status in Slack; returns it as sent (None when it waits for the repair pass)."""
        if status not in (*OPEN_STATUSES, Status.RESOLVED):
            raise InvalidInput(Msg("errors.statuspage_status", status=status.value))
        if not message.strip():
            raise InvalidInput(Msg("errors.statuspage_message_missing"))
        await self.parts.access.authorize(Act.STATUS, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            assert row.id is not None
            page = await repo.statuspage(incident_id=row.id, for_update=True)
            if page is None:
                raise InvalidTransition(Msg("errors.statuspage_not_published", id=row.id))
            if row.private:  # made private after publishing: nothing more goes out
                raise InvalidInput(Msg("errors.statuspage_private", id=row.id))
            page.status, page.body = status.value, clean(message).strip()
            page.asked += 1
            page.updated_at = now
            repo.session.add(page)
            await self._event(
                repo,
                row,
                at=now,
                kind=EventKind.STATUSPAGE,
                actor=actor,
                text=Msg(
                    "timeline.statuspage_updated",
                    status=Msg(f"status_word.{status.value}"),
                    message=message.strip(),
                ),
                data={"status": status.value},
                fx=fx,
            )

        await self._change(incident_id, change, actor=actor)
        return await self.send(incident_id=incident_id)

    async def send(self, *, incident_id: int) -> StatuspageIncident | None:
        """Sends what waits of the incident's public incident (its opening, or the last update asked for)
        unless someone else is sending it; None when nothing was sent now."""
        if self.page is None:
            return None
        now = self._clock.now()
        async with self._store.transaction() as repo:
            claimed = await repo.claim_statuspage(
                incident_id=incident_id,
                at=now,
                stale_before=now - self.config.setup_lease,
                owner=self.config.replica,
            )
            page = await repo.statuspage(incident_id=incident_id) if claimed else None
            row = await repo.incident(incident_id=incident_id) if page else None
            if page is None or row is None:
                return None
            asked, opened = page.asked, page.page_incident_id
            restore = page.status == Status.RESOLVED.value
            impact = OPERATIONAL if restore else self.component_status(row.severity)
            components = dict.fromkeys(page.components, impact)
            status, body, name, private = page.status, page.body, row.title, row.private
        try:
            if private:
                raise OutsideError("statuspage", "the incident is private")
            if opened is None:
                made = await self.page.open_incident(
                    name=name, status=status, body=body, components=components
                )
                opened, shortlink = made.id, made.shortlink
            else:
                await self.page.update_incident(
                    page_incident_id=opened, status=status, body=body, components=components
                )
                shortlink = None
        except OutsideError as exc:
            log.warning("Statuspage for INC-%s: %s", incident_id, exc, extra={"incident_id": incident_id})
            async with self._store.transaction() as repo:
                failed = await repo.statuspage(incident_id=incident_id)
                if failed is not None:
                    failed.error = exc.reason[:500]
                    if not exc.unknown:
                        failed.claimed_at = failed.claimed_by = None
                    repo.session.add(failed)
            return None
        fx = ChangeEffects()
        async with self._store.transaction() as repo:
            sent = await repo.statuspage(incident_id=incident_id)
            row = await repo.incident(incident_id=incident_id)
            if sent is None or row is None:
                return None
            first = sent.page_incident_id is None
            sent.page_incident_id = opened
            if shortlink is not None:
                sent.shortlink = shortlink
            sent.sent = max(sent.sent, asked)
            sent.error, sent.claimed_at, sent.claimed_by = "", None, None
            repo.session.add(sent)
            if first:
                await self._event(
                    repo,
                    row,
                    at=self._clock.now(),
                    kind=EventKind.STATUSPAGE,
                    actor=None,
                    text=Msg("timeline.statuspage_opened", url=sent.shortlink or opened),
                    data={"page_incident": opened, "url": sent.shortlink},
                    fx=fx,
                )
            channel = row.channel_id
        if fx.lines and channel:
            await self.effects.show(incident_id)
        if sent.sent < sent.asked:  # another update was asked for while this one went out
            return await self.send(incident_id=incident_id)
        return sent

    async def send_pending(self) -> int:
        """Sends what a failure or a crash left unsent; returns how many incidents were brought up to date."""
        if self.page is None:
            return 0
        now = self._clock.now()
        async with self._store.transaction() as repo:
            waiting = await repo.statuspages_to_send(stale_before=now - self.config.setup_lease)
        return sum([await self.send(incident_id=incident_id) is not None for incident_id in waiting])
