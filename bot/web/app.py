"""The web dashboard's routes on `hashi serve`'s HTTP port: sign-in with Slack, incidents, reliability.

Read-only: no page changes anything in the record. Everyone must sign in with Slack (OpenID Connect), as a
member of the bot's workspace; a private incident shows only to the people in it (the service's own check,
bot/incidents/access.py). Sessions live in signed cookies (bot/web/session.py); every answer carries
headers that keep it from being framed, sniffed or mixed with scripts from elsewhere.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from bot.i18n import Msg, t
from bot.incidents.errors import ChatError, IncidentNotFound
from bot.incidents.model import IncidentSnapshot
from bot.incidents.ports import Clock
from bot.incidents.service import IncidentService
from bot.incidents.times import format_local, zone
from bot.reports.postmortem import render_postmortem
from bot.reports.postmortem_markers import without_markers
from bot.reports.stats_rows import rows_seen_by
from bot.web.config import CALLBACK_PATH, WebConfig, viewer_language
from bot.web.pages import (
    DEFAULT_WINDOW,
    PAGE_SIZE,
    TIMELINE_PAGE,
    WINDOWS,
    BadRequest,
    ListQuery,
    incident_view,
    markdown_html,
    reliability,
    shown,
    timeline_pages,
    window_of,
)
from bot.web.ports import Identity
from bot.web.session import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_COOKIE,
    SIGN_IN_SECONDS,
    CookieSigner,
    Viewer,
)

if TYPE_CHECKING:
    from jinja2 import Environment


log = logging.getLogger(__name__)

MAX_INCIDENT_ID = 2**31 - 1
TEAM_CLAIM = "https://slack.com/team_id"

# No script at all, styles and images only from Hashi itself, never in a frame, forms only back to Hashi.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _claims_of(id_token: str) -> dict[str, Any]:
    """The claims of an id_token. Its signature is not checked: the token came straight from Slack's token
    endpoint over TLS, which OpenID Connect Core 3.1.3.7 accepts in place of the signature."""
    try:
        payload = id_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Dashboard:
    """The dashboard's handlers, over the incident service and Slack's identity."""

    def __init__(
        self, *, service: IncidentService, identity: Identity, clock: Clock, config: WebConfig
    ) -> None:
        self._service = service
        self._identity = identity
        self._clock = clock
        self.config = config
        self._signer = CookieSigner(config.session_secret)
        self._environment: Environment | None = None
        self._css = resources.files("bot.web").joinpath("static/hashi.css").read_bytes()

    @property
    def _templates(self) -> Environment:
        """The pages' templates, loaded for the first page shown: a server nobody browses does not keep Jinja
        (about 1.5 MiB resident)."""
        if self._environment is None:
            from jinja2 import Environment, PackageLoader, select_autoescape

            self._environment = Environment(
                loader=PackageLoader("bot.web", "templates"),
                autoescape=select_autoescape(default=True, default_for_string=True),
                trim_blocks=True,
                lstrip_blocks=True,
            )
        return self._environment

    def routes(self, app: web.Application) -> None:
        """Adds the dashboard's routes and its security headers to an aiohttp application."""
        app.middlewares.append(_security_headers)
        app.router.add_get("/", self.home)
        app.router.add_get("/incidents", self.incidents)
        app.router.add_get("/incidents/{id}", self.incident)
        app.router.add_get("/incidents/{id}/postmortem", self.postmortem)
        app.router.add_get("/reliability", self.reliability)
        app.router.add_get("/auth/slack", self.sign_in)
        app.router.add_get(CALLBACK_PATH, self.callback)
        app.router.add_post("/auth/sign-out", self.sign_out)
        app.router.add_get("/static/hashi.css", self.stylesheet)

    # ----------------------------------------------------------------- rendering

    def _render(
        self, request: web.Request, name: str, *, viewer: Viewer | None, status: int = 200, **context: Any
    ) -> web.Response:
        lang = viewer_language(request.headers.get("Accept-Language"))

        def text(key: str, /, **params: object) -> str:
            return t(key, lang, **params)

        html = self._templates.get_template(name).render(
            lang=lang,
            t=text,
            viewer=viewer,
            sign_out_token=self._signer.token("sign-out", viewer.session) if viewer else "",
            svg=Markup,  # the charts are SVG that bot/web/charts.py and gantt.py built with escaped text
            **context,
        )
        response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    def _viewer(self, request: web.Request) -> Viewer | None:
        value = request.cookies.get(SESSION_COOKIE)
        data = self._signer.read(SESSION_COOKIE, value, now=self._clock.now())
        return Viewer.of(data, value or "") if data is not None else None

    def _tz(self, viewer: Viewer) -> ZoneInfo:
        return zone(viewer.tz, default=self.config.timezone)

    async def _signed_in(
        self, request: web.Request, page: Callable[[Viewer], Awaitable[web.Response]]
    ) -> web.Response:
        """The page for a signed-in member; else the page that says how to sign in (or set sign-in up)."""
        viewer = self._viewer(request) if self.config.sign_in_ready else None
        if viewer is None:
            if not self.config.sign_in_ready:
                return self._render(
                    request, "setup.html", viewer=None, status=503, redirect_uri=self.config.redirect_uri
                )
            target = request.path_qs if request.path != "/" else "/incidents"
            return self._render(
                request,
                "sign_in.html",
                viewer=None,
                status=401,
                start=f"/auth/slack?{urlencode({'next': target})}",
            )
        return await page(viewer)

    # ----------------------------------------------------------------- pages

    async def home(self, request: web.Request) -> web.Response:
        """`/`: the incident list once signed in."""

        async def page(_viewer: Viewer) -> web.Response:
            raise web.HTTPFound("/incidents")

        return await self._signed_in(request, page)

    async def incidents(self, request: web.Request) -> web.Response:
        """The incidents the viewer may see, open ones first, filtered."""

        async def page(viewer: Viewer) -> web.Response:
            query = ListQuery.of(request.query)
            now = self._clock.now()
            lang = viewer_language(request.headers.get("Accept-Language"))
            tz = self._tz(viewer)
            try:
                wanted = query.wanted(severities=self.config.severities, types=self.config.types, now=now)
            except BadRequest as bad:
                return self._render(
                    request, "incidents.html", viewer=viewer, status=400, query=query,
                    error=bad.message.render(lang), rows=[], total=0, pages=1,
                    severities=self.config.severities, types=self.config.types, windows=WINDOWS,
                )  # fmt: skip
            found, total = await self._service.visible_incidents(
                user_id=viewer.user_id,
                open_only=False,
                limit=PAGE_SIZE,
                offset=(query.page - 1) * PAGE_SIZE,
                wanted=wanted,
            )
            rows = [(snap, shown(snap.milestones.declared_at, tz, lang)) for snap in found]
            return self._render(
                request, "incidents.html", viewer=viewer, query=query, error=None, rows=rows, total=total,
                pages=max(1, -(-total // PAGE_SIZE)), severities=self.config.severities,
                types=self.config.types, windows=WINDOWS,
            )  # fmt: skip

        return await self._signed_in(request, page)

    async def _visible(
        self, request: web.Request, viewer: Viewer, *, timeline: bool = True
    ) -> IncidentSnapshot | web.Response:
        """The incident the address names if the viewer may see it, else the 404 page (the same for one
        that does not exist and one that is private to others)."""
        raw = request.match_info["id"].removeprefix("INC-").removeprefix("inc-")
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 11 else 0
        try:
            if not 0 < number <= MAX_INCIDENT_ID:
                raise IncidentNotFound(Msg("errors.not_visible", id=raw))
            return await self._service.visible_snapshot(
                incident_id=number, user_id=viewer.user_id, timeline=timeline
            )
        except IncidentNotFound:
            return self._missing(request, viewer)

    def _missing(self, request: web.Request, viewer: Viewer) -> web.Response:
        """The page of an incident that does not exist, or that the viewer may not see: the same."""
        lang = viewer_language(request.headers.get("Accept-Language"))
        return self._render(
            request, "missing.html", viewer=viewer, status=404,
            message=t("web.not_found", lang, id=request.match_info["id"][:20]),
        )  # fmt: skip

    async def incident(self, request: web.Request) -> web.Response:
        """One incident: card facts, milestones, metrics, a page of the timeline, checklists, follow-ups."""

        async def page(viewer: Viewer) -> web.Response:
            snap = await self._visible(request, viewer, timeline=False)
            if isinstance(snap, web.Response):
                return snap
            lang = viewer_language(request.headers.get("Accept-Language"))
            tz = self._tz(viewer)
            number = request.query.get("events", "1")
            wanted = int(number) if number.isascii() and number.isdigit() and len(number) < 7 else 1
            try:
                events, total = await self._service.visible_timeline(
                    incident_id=snap.id,
                    user_id=viewer.user_id,
                    limit=TIMELINE_PAGE,
                    offset=(max(1, wanted) - 1) * TIMELINE_PAGE,
                )
                page_number = min(max(1, wanted), timeline_pages(total))
                if page_number != max(1, wanted):  # past the end: the last page
                    events, total = await self._service.visible_timeline(
                        incident_id=snap.id,
                        user_id=viewer.user_id,
                        limit=TIMELINE_PAGE,
                        offset=(page_number - 1) * TIMELINE_PAGE,
                    )
            except IncidentNotFound:  # they left the incident's channel a moment ago
                return self._missing(request, viewer)
            view = incident_view(snap, events=events, total=total, events_page=page_number, tz=tz, lang=lang)
            team = await self._team()
            channel_url = (
                f"https://app.slack.com/client/{team}/{snap.channel_id}" if snap.channel_id and team else None
            )
            return self._render(
                request, "incident.html", viewer=viewer, view=view, channel_url=channel_url,
                zone_name=format_local(self._clock.now(), tz, lang).rsplit(" ", 1)[-1],
            )  # fmt: skip

        return await self._signed_in(request, page)

    async def postmortem(self, request: web.Request) -> web.Response:
        """The incident's postmortem draft, as `hashi export` writes it, rendered; its gantt drawn."""

        async def page(viewer: Viewer) -> web.Response:
            snap = await self._visible(request, viewer)
            if isinstance(snap, web.Response):
                return snap
            lang = viewer_language(request.headers.get("Accept-Language"))
            markdown = render_postmortem(
                snap,
                tz=self._tz(viewer),
                generated_at=self._clock.now(),
                lang=lang,
                template=self.config.postmortem_template,
                shape=self._service.config.shape,
            )
            return self._render(
                request,
                "postmortem.html",
                viewer=viewer,
                snap=snap,
                postmortem_html=markdown_html(without_markers(markdown)),
            )

        return await self._signed_in(request, page)

    async def reliability(self, request: web.Request) -> web.Response:
        """Availability against each SLO, error budget left, time to acknowledge and resolve, per week."""

        async def page(viewer: Viewer) -> web.Response:
            lang = viewer_language(request.headers.get("Accept-Language"))
            window_text = request.query.get("window", "").strip() or DEFAULT_WINDOW
            try:
                window = window_of(window_text)
            except BadRequest as bad:
                return self._render(
                    request, "reliability.html", viewer=viewer, status=400, error=bad.message.render(lang),
                    figures=None, window=window_text, windows=WINDOWS,
                )  # fmt: skip
            now = self._clock.now()
            since = now - window
            rows = await rows_seen_by(
                self._service, user_id=viewer.user_id, since=since, until=now, configured=self.config.slos
            )
            figures = reliability(
                rows, since=since, now=now, window=window_text, slos=self.config.slos,
                severities=self.config.severities, lang=lang,
            )  # fmt: skip
            return self._render(
                request, "reliability.html", viewer=viewer, error=None, figures=figures, window=window_text,
                windows=WINDOWS,
            )  # fmt: skip

        return await self._signed_in(request, page)

    async def stylesheet(self, _request: web.Request) -> web.Response:
        """The one stylesheet, shipped in the package."""
        response = web.Response(body=self._css, content_type="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # ----------------------------------------------------------------- Sign in with Slack

    async def _team(self) -> str | None:
        try:
            return await self._identity.team_id()
        except ChatError:
            return None

    def _cookie(self, response: web.StreamResponse, name: str, value: str, lifetime: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=lifetime,
            path="/",
            httponly=True,
            samesite="Lax",  # sent on Slack's redirect back (a top-level GET), never on another site's POST
            secure=(self.config.public_url or "").startswith("https://"),
        )

    async def sign_in(self, request: web.Request) -> web.Response:
        """Starts Sign in with Slack: a fresh state and nonce in a signed cookie, then Slack's page."""
        if not self.config.sign_in_ready:
            return self._render(
                request, "setup.html", viewer=None, status=503, redirect_uri=self.config.redirect_uri
            )
        target = request.query.get("next", "/incidents")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/incidents"  # only back into Hashi, never to another site
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        team = await self._team()
        params = {
            "response_type": "code",
            "scope": "openid profile",
            "client_id": self.config.client_id or "",
            "redirect_uri": self.config.redirect_uri,
            "state": state,
            "nonce": nonce,
            **({"team": team} if team else {}),
        }
        response = web.HTTPFound(f"{self.config.authorize_url}?{urlencode(params)}")
        value = self._signer.sign(
            SIGN_IN_COOKIE, {"state": state, "nonce": nonce, "next": target}, now=self._clock.now(),
            lifetime=SIGN_IN_SECONDS,
        )  # fmt: skip
        self._cookie(response, SIGN_IN_COOKIE, value, SIGN_IN_SECONDS)
        raise response

    def _failed(self, request: web.Request, reason: Msg) -> web.Response:
        lang = viewer_language(request.headers.get("Accept-Language"))
        response = self._render(
            request, "sign_in.html", viewer=None, status=403, start="/auth/slack",
            error=t("web.sign_in_failed", lang, reason=reason),
        )  # fmt: skip
        response.del_cookie(SIGN_IN_COOKIE, path="/")
        return response

    async def callback(self, request: web.Request) -> web.Response:
        """Slack sent the browser back: check the state, exchange the code, check the nonce and the
        workspace, then open a session."""
        if not self.config.sign_in_ready:
            return self._render(
                request, "setup.html", viewer=None, status=503, redirect_uri=self.config.redirect_uri
            )
        pending = self._signer.read(
            SIGN_IN_COOKIE, request.cookies.get(SIGN_IN_COOKIE), now=self._clock.now()
        )
        state = request.query.get("state", "")
        if pending is None or not secrets.compare_digest(state, str(pending.get("state", ""))):
            return self._failed(request, Msg("web.reason.state"))
        if "error" in request.query:
            return self._failed(request, Msg("web.reason.denied", error=request.query["error"][:100]))
        try:
            tokens = await self._identity.openid_token(
                code=request.query.get("code", ""),
                redirect_uri=self.config.redirect_uri,
                client_id=self.config.client_id or "",
                client_secret=self.config.client_secret or "",
            )
            claims = _claims_of(str(tokens.get("id_token", "")))
            if claims.get("nonce") != pending.get("nonce") or claims.get("aud") != self.config.client_id:
                return self._failed(request, Msg("web.reason.nonce"))
            info = await self._identity.openid_user_info(access_token=str(tokens.get("access_token", "")))
        except ChatError as exc:
            log.info("sign-in refused by Slack: %s", exc.reason)
            return self._failed(request, Msg("web.reason.slack", error=exc.reason[:100]))
        team = await self._team()
        user_id = str(info.get("https://slack.com/user_id") or info.get("sub") or "")
        if not team or info.get(TEAM_CLAIM) != team or claims.get(TEAM_CLAIM) != team or not user_id:
            return self._failed(request, Msg("web.reason.team"))
        try:
            tz = await self._identity.user_zone(user_id)
        except ChatError:
            tz = None
        now = self._clock.now()
        session = self._signer.sign(
            SESSION_COOKIE, {"user": user_id, "name": str(info.get("name") or user_id)[:100], "tz": tz},
            now=now, lifetime=SESSION_SECONDS,
        )  # fmt: skip
        response = web.HTTPFound(str(pending.get("next") or "/incidents"))
        self._cookie(response, SESSION_COOKIE, session, SESSION_SECONDS)
        response.del_cookie(SIGN_IN_COOKIE, path="/")
        raise response

    async def sign_out(self, request: web.Request) -> web.Response:
        """Ends the session (a form with the session's own token, so no other site can sign anyone out)."""
        viewer = self._viewer(request)
        form = await request.post()
        token = form.get("token")
        if (
            viewer is None
            or not isinstance(token, str)
            or not secrets.compare_digest(token, self._signer.token("sign-out", viewer.session))
        ):
            raise web.HTTPFound("/")
        response = web.HTTPFound("/")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every answer: no framing, no sniffing, no script, no referrer to other sites."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and aiohttp's own 404s
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


def add_dashboard(
    app: web.Application, *, service: IncidentService, identity: Identity, clock: Clock, config: WebConfig
) -> Dashboard:
    """Serves the dashboard on the application (`hashi serve`'s HTTP port)."""
    dashboard = Dashboard(service=service, identity=identity, clock=clock, config=config)
    dashboard.routes(app)
    return dashboard
