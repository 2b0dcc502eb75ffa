"""Pages out: the pages an incident asks for (at declaration, on demand, and the acknowledge and resolve that
follow Slack), recorded with the change that asked and sent after the commit, retried until the pager takes
them; a failure shows on the card and never loses the incident."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Core, Part
from bot.incidents.deliveries import current_delivery
from bot.incidents.errors import InvalidInput, PagerError
from bot.incidents.model import EventKind, IncidentSnapshot
from bot.incidents.ports import PageOrder, Pager
from storage.models import Incident, Page
from storage.repository import Repository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # then the page is marked failed (the card says so)
SEND_LEASE = timedelta(seconds=60)  # a sender that dies mid-send leaves the page to the next pass then
RETRY_BASE = timedelta(seconds=5)  # 5 s, 10 s, 20 s … between attempts
PD_SEVERITIES = ("critical", "error", "warning", "info")


def dedup_key(incident_id: int, target: str | None = None) -> str:
    """The pager's alert key: the incident's own, or one per on-demand target of it."""
    return f"hashi-inc-{incident_id}" + (f"-{target}" if target else "")


class Paging(Part):
    """Records pages in the transaction of the change that asks for them, and sends them."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._sending: set[asyncio.Task[int]] = set()

    @property
    def pager(self) -> Pager | None:
        """The pager in use, if one is configured."""
        return self._core.pager

    @property
    def enabled(self) -> bool:
        """Whether a pager is configured."""
        return self._core.pager is not None

    async def on_declared(self, repo: Repository, row: Incident) -> int:
        """The trigger a declaration asks for by its severity or services, or a change to a severity that
        pages (0 or 1 page recorded: one such trigger per incident)."""
        policy = self.config.paging
        if not self.enabled or policy is None:
            return 0
        if row.severity in policy.severities:
            target = f"severity:{row.severity}"
        else:
            matched = next((s for s in row.services if s in policy.services), None)
            if matched is None:
                return 0
            target = f"service:{matched}"
        assert row.id is not None
        return await self._record(
            repo,
            row,
            action="trigger",
            target=target,
            key=dedup_key(row.id),
            request_key="declared",
            actor=None,
        )

    async def follow(self, repo: Repository, row: Incident, *, action: str) -> int:
        """An acknowledge or resolve for every alert the incident triggered (Slack's state, followed)."""
        if not self.enabled:
            return 0
        assert row.id is not None
        triggered = {
            p.dedup_key: p.target for p in await repo.pages(incident_id=row.id) if p.action == "trigger"
        }
        moment = (row.resolved_at if action == "resolve" else row.acknowledged_at) or self._clock.now()
        recorded = 0
        for key, target in triggered.items():
            recorded += await self._record(
                repo,
                row,
                action=action,
                target=target,
                key=key,
                request_key=f"{action}:{key}:{moment.isoformat()}",
                actor=None,
            )
        return recorded

    async def page(self, *, incident_id: int, target: str, actor: str) -> IncidentSnapshot:
        """Pages on demand (`user:<U…>` or `service:<name>`) for an open incident."""
        delivery = current_delivery()
        request = (
            f"page:{delivery.delivery_id}"
            if delivery is not None
            else f"page:{self._clock.now().isoformat()}"
        )

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            # Checked after the visibility check: an outsider learns nothing, not even that paging is off.
            if not self.enabled:
                raise InvalidInput(Msg("errors.pager_not_configured"))
            self._require_open(row, "page")
            assert row.id is not None
            fx.pages += await self._record(
                repo,
                row,
                action="trigger",
                target=target,
                key=dedup_key(row.id, target),
                request_key=request[:255],
                actor=actor,
            )
            kind, _, name = target.partition(":")
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.PAGE,
                actor=actor,
                text=Msg(f"timeline.paged_{kind}", name=name),
                data={"target": target},
                fx=fx,
            )

        return await self._change(incident_id, change, actor=actor)

    async def _record(
        self,
        repo: Repository,
        row: Incident,
        *,
        action: str,
        target: str,
        key: str,
        request_key: str,
        actor: str | None,
    ) -> int:
        assert row.id is not None
        page = Page(
            incident_id=row.id,
            request_key=request_key,
            action=action,
            target=target[:255],
            dedup_key=key[:255],
            requested_by=actor,
            status="pending",
            attempts=0,
            error="",
            created_at=self._clock.now(),
        )
        return int(await repo.add_page(page=page))

    def send_soon(self, incident_id: int) -> None:
        """Sends the incident's due pages in the background (the Slack answer and effects never wait)."""
        task = asyncio.ensure_future(self.send_due(incident_id=incident_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def idle(self) -> None:
        """Waits for the sends under way."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def send_due(self, *, incident_id: int | None = None) -> int:
        """Sends every page due (of one incident, or all: the repair pass); returns how many were taken."""
        pager = self._core.pager
        if pager is None:
            return 0
        now = self._clock.now()
        async with self._store.transaction() as repo:
            due = await repo.pages_due(at=now, incident_id=incident_id)
        sent = 0
        for page in due:
            assert page.id is not None
            async with self._store.transaction() as repo:
                if not await repo.claim_page(page_id=page.id, at=now, until=now + SEND_LEASE):
                    continue
                row = await repo.incident(incident_id=page.incident_id)
            if row is None:
                continue
            error: PagerError | None = None
            try:
                await pager.send(self._order(page, row))
            except PagerError as exc:
                error = exc
            await self._finish(page, row, error)
            sent += 1
        return sent

    async def _finish(self, page: Page, row: Incident, error: PagerError | None) -> None:
        """Records how the send went; a failure (or a recovery from one) is a change the card shows."""
        assert page.id is not None
        now = self._clock.now()
        attempts = page.attempts + 1
        if error is None:
            status, retry_at, reason = "sent", None, ""
        elif error.retryable and attempts < MAX_ATTEMPTS:
            status, retry_at, reason = "pending", now + RETRY_BASE * 2 ** (attempts - 1), error.reason
        else:
            status, retry_at, reason = "failed", None, error.reason
        # The card tells of pages that went out, of failures, and of their end.
        shows = bool(error) or bool(page.error) or page.action == "trigger"
        async with self._store.transaction() as repo:
            await repo.finish_page(page_id=page.id, status=status, at=now, error=reason, retry_at=retry_at)
            if shows:
                fresh = await repo.incident(incident_id=row.id or 0, for_update=True)
                if fresh is not None:
                    await repo.count_change(fresh)
        if error is not None:
            log.warning(
                "page %s (%s) failed: %s", page.action, page.target, reason, extra={"incident_id": row.id}
            )
        if shows and row.id is not None:
            await self.effects.show(row.id)

    def _order(self, page: Page, row: Incident) -> PageOrder:
        """The event the pager gets (a private incident's says nothing private)."""
        if page.action != "trigger":
            return PageOrder(action=page.action, dedup_key=page.dedup_key)
        title = "private incident" if row.private else row.title
        kind, _, name = page.target.partition(":")
        details = {"incident": f"INC-{row.id}", "severity": row.severity, "status": row.status}
        if kind == "user":
            details["page_user"] = name
        if page.requested_by:
            details["requested_by"] = page.requested_by
        if not row.private:
            details["services"] = ", ".join(row.services)
        rank = self.config.severities.index(row.severity) if row.severity in self.config.severities else 0
        component = (
            name if kind == "service" else (row.services[0] if row.services and not row.private else None)
        )
        return PageOrder(
            action="trigger",
            dedup_key=page.dedup_key,
            summary=f"INC-{row.id} [{row.severity}] {title}"[:1024],
            severity=PD_SEVERITIES[min(rank, len(PD_SEVERITIES) - 1)],
            component=component,
            details=details,
        )
