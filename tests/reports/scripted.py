"""Scripted incident snapshots for the report tests (plain factory functions, no storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.i18n import Msg
from bot.incidents.model import (
    ChecklistItemView,
    FollowupView,
    IncidentSnapshot,
    Milestones,
    Status,
    TimelineEntry,
)

HOSTILE = (
    "# heading [link](http://x) <script>alert(1)</script> | table | <!channel> <!-- hashi:end timeline -->"
)


def utc(text: str) -> datetime:
    """A UTC datetime from `2026-11-24 05:05` (seconds optional)."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def event(
    at: str,
    kind: str,
    text: str,
    actor: str | None = "U01",
    *,
    recorded: str | None = None,
    permalink: str | None = None,
) -> TimelineEntry:
    """A timeline entry recorded when it happened unless `recorded` says otherwise."""
    return TimelineEntry(
        at=utc(at), recorded_at=utc(recorded or at), kind=kind, actor=actor, text=text, permalink=permalink
    )


def said(
    at: str, kind: str, message: Msg, actor: str | None = "U01", *, recorded: str | None = None
) -> TimelineEntry:
    """An event in Hashi's own words, stored as the service stores it: English text plus the message."""
    return TimelineEntry(
        at=utc(at),
        recorded_at=utc(recorded or at),
        kind=kind,
        actor=actor,
        text=str(message),
        message=message,
    )


def japanese() -> IncidentSnapshot:
    """A SEV2 in Tokyo, written in Japanese, resolved the same afternoon."""
    return IncidentSnapshot(
        id=42,
        title="決済APIのエラー率が上昇",
        severity="SEV2",
        status=Status.RESOLVED,
        private=False,
        services=("決済", "checkout-api"),
        summary=(
            "カード決済の一部が 5xx エラーで失敗しました。\n\n"
            "デプロイ直後から発生し、ロールバックで復旧しました。"
        ),
        lead="U01",
        declared_by="U02",
        channel_id="C0INC42",
        milestones=Milestones(
            impact_started_at=utc("2026-11-24 04:50"),
            detected_at=utc("2026-11-24 04:58"),
            declared_at=utc("2026-11-24 05:05"),
            acknowledged_at=utc("2026-11-24 05:07"),
            mitigated_at=utc("2026-11-24 05:40"),
            resolved_at=utc("2026-11-24 06:10"),
        ),
        roles=(("lead", "U01"), ("comms", "U03")),
        participants=("U01", "U02", "U03"),
        timeline=(
            said(
                "2026-11-24 05:05",
                "declared",
                Msg("timeline.declared", severity="SEV3", title="決済APIのエラー率が上昇"),
                "U02",
            ),
            said(
                "2026-11-24 04:58", "milestone", Msg("timeline.detected"), "U02", recorded="2026-11-24 05:05"
            ),
            said("2026-11-24 05:07", "acknowledged", Msg("timeline.acknowledged")),
            said("2026-11-24 05:07", "lead", Msg("timeline.lead", user="U01"), "U02"),
            said(
                "2026-11-24 05:12",
                "severity",
                Msg("timeline.severity_reason", old="SEV3", new="SEV2", reason="影響が全ユーザーに拡大"),
            ),
            said(
                "2026-11-24 05:20",
                "status",
                Msg(
                    "timeline.status_message",
                    old=Msg("status_word.investigating"),
                    new=Msg("status_word.identified"),
                    message="14:45 のデプロイが原因",
                ),
            ),
            event(
                "2026-11-24 05:25",
                "slack_message",
                "ロールバックを開始します <@U03|sato>",
                "U01",
                permalink="https://example.slack.com/archives/C0INC42/p1795000000000100",
            ),
            said(
                "2026-11-24 05:40",
                "status",
                Msg(
                    "timeline.status_message",
                    old=Msg("status_word.identified"),
                    new=Msg("status_word.monitoring"),
                    message="エラー率が低下",
                ),
            ),
            said("2026-11-24 05:40", "mitigated", Msg("timeline.mitigated")),
            said(
                "2026-11-24 06:10", "resolved", Msg("timeline.resolved_summary", summary="ロールバックで復旧")
            ),
            said(
                "2026-11-24 06:15",
                "followup",
                Msg("timeline.followup_owner", text="デプロイ前のカナリア検証を追加", owner="U03"),
            ),
        ),
        checklists=(
            ChecklistItemView(
                "SEV2 対応", "page", "オンコールを呼び出す", True, "U01", utc("2026-11-24 05:08")
            ),
            ChecklistItemView(
                "SEV2 対応", "status", "ステータスページを更新", True, "U03", utc("2026-11-24 05:15")
            ),
            ChecklistItemView(
                "SEV2 対応", "review", "ポストモーテムを予定する", False, None, None, required=True
            ),
        ),
        followups=(
            FollowupView("デプロイ前のカナリア検証を追加", "U03", False, utc("2026-11-24 06:15")),
            FollowupView("ロールバック手順を文書化", "U01", True, utc("2026-11-24 06:20")),
        ),
        severity_history=((utc("2026-11-24 05:05"), "SEV3"), (utc("2026-11-24 05:12"), "SEV2")),
    )


def midnight() -> IncidentSnapshot:
    """A SEV1 in Berlin that starts before midnight and ends two days later, with a backdated note."""
    return IncidentSnapshot(
        id=7,
        title="Replication lag on the orders database",
        severity="SEV2",
        status=Status.CLOSED,
        private=False,
        services=("orders-db",),
        summary="Replicas fell hours behind after a vacuum storm; reads served stale orders.",
        lead="U10",
        declared_by="U11",
        channel_id="C0INC7",
        milestones=Milestones(
            impact_started_at=utc("2026-11-24 22:10"),
            detected_at=utc("2026-11-24 22:31:30"),
            declared_at=utc("2026-11-24 22:40"),
            acknowledged_at=utc("2026-11-24 22:52"),
            mitigated_at=utc("2026-11-25 21:05"),
            resolved_at=utc("2026-11-26 01:15"),
            closed_at=utc("2026-11-27 09:00"),
            impact_ended_at=utc("2026-11-25 23:30"),
        ),
        roles=(("lead", "U10"), ("scribe", "U12")),
        participants=("U10", "U11", "U12", "U13"),
        timeline=(
            event(
                "2026-11-24 22:40", "declared", "Declared SEV3: Replication lag on the orders database", "U11"
            ),
            event("2026-11-24 22:31:30", "milestone", "Detected", "U11", recorded="2026-11-24 22:40"),
            event("2026-11-24 22:52", "lead", "Lead: <@U10>", "U11"),
            event("2026-11-24 22:52", "acknowledged", "Acknowledged", "U10"),
            event("2026-11-24 23:58", "severity", "Severity SEV3 → SEV1: replicas 3h behind", "U10"),
            event(
                "2026-11-25 00:20",
                "note",
                "Paused the nightly vacuum job",
                "U12",
                recorded="2026-11-25 02:00",
            ),
            event("2026-11-25 09:30", "severity", "Severity SEV1 → SEV2: lag shrinking", "U10"),
            event("2026-11-25 21:05", "status", "Status identified → monitoring: replicas caught up", "U10"),
            event("2026-11-25 23:30", "milestone", "Impact ended", "U10"),
            event("2026-11-26 01:15", "resolved", "Resolved", "U10"),
            event("2026-11-27 09:00", "closed", "Closed", "U10"),
        ),
        followups=(FollowupView("Alert on replica lag above 5 minutes", "U12", False),),
        severity_history=(
            (utc("2026-11-24 22:40"), "SEV3"),
            (utc("2026-11-24 23:58"), "SEV1"),
            (utc("2026-11-25 09:30"), "SEV2"),
        ),
    )


def reopened() -> IncidentSnapshot:
    """Resolved, reopened when errors came back, resolved again (resolved_at is the second resolution)."""
    return IncidentSnapshot(
        id=108,
        title="Login errors",
        severity="SEV3",
        status=Status.RESOLVED,
        private=False,
        services=("auth",),
        summary="",
        lead="U20",
        declared_by="U20",
        channel_id="C0INC108",
        milestones=Milestones(
            detected_at=utc("2026-11-24 10:00"),
            declared_at=utc("2026-11-24 10:00"),
            acknowledged_at=utc("2026-11-24 10:00"),
            mitigated_at=utc("2026-11-24 10:20"),
            resolved_at=utc("2026-11-24 12:45"),
        ),
        timeline=(
            event("2026-11-24 10:00", "declared", "Declared SEV3: Login errors", "U20"),
            event("2026-11-24 10:00", "acknowledged", "Acknowledged", "U20"),
            event("2026-11-24 10:30", "resolved", "Resolved: restarted the session cache", "U20"),
            event("2026-11-24 11:05", "reopened", "Reopened", "U21"),
            event("2026-11-24 11:06", "note", "Errors are back, same signature", "U21"),
            event("2026-11-24 12:45", "resolved", "Resolved: raised the cache memory limit", "U20"),
        ),
        severity_history=((utc("2026-11-24 10:00"), "SEV3"),),
    )


def private() -> IncidentSnapshot:
    """A private security incident, still being monitored when the draft is generated."""
    return IncidentSnapshot(
        id=9,
        title="Leaked API key",
        severity="SEV1",
        status=Status.MONITORING,
        private=True,
        services=("billing",),
        summary="A production API key was committed to a public repository.",
        lead="U30",
        declared_by="U30",
        channel_id="G0PRIVATE",
        milestones=Milestones(
            impact_started_at=utc("2026-11-24 03:00"),
            declared_at=utc("2026-11-24 03:30"),
            acknowledged_at=utc("2026-11-24 03:31"),
            mitigated_at=utc("2026-11-24 03:45"),
        ),
        roles=(("lead", "U30"),),
        timeline=(
            event("2026-11-24 03:30", "declared", "Declared SEV1: Leaked API key", "U30"),
            event("2026-11-24 03:00", "milestone", "Impact started", "U30", recorded="2026-11-24 03:35"),
            event("2026-11-24 03:45", "status", "Status investigating → monitoring: key rotated", "U30"),
        ),
        severity_history=((utc("2026-11-24 03:30"), "SEV1"),),
    )


def hostile(payload: str = HOSTILE) -> IncidentSnapshot:
    """Every user-typed field carries `payload`; the default tries Markdown, HTML, table, Slack injection."""
    m = Milestones(
        impact_started_at=utc("2026-11-24 08:00"),
        detected_at=utc("2026-11-24 08:05"),
        declared_at=utc("2026-11-24 08:06"),
        acknowledged_at=utc("2026-11-24 08:07"),
        mitigated_at=utc("2026-11-24 08:30"),
        resolved_at=utc("2026-11-24 09:00"),
    )
    summary = (
        f"{payload}\n# {payload}\n\n- {payload}\n\n    {payload}\n\n```\n{payload}\n```\n\n"
        f"| {payload} | b |\n|---|---|\n\n> {payload}\n\n1. {payload}"
    )
    return IncidentSnapshot(
        id=666,
        title=payload,
        severity="SEV2",
        status=Status.RESOLVED,
        private=False,
        services=(f"| {payload} |", f"<b>{payload}</b>", f"[{payload}](http://x)"),
        summary=summary,
        lead="U66",
        declared_by="U66",
        channel_id=f"C0{payload}",
        milestones=m,
        roles=(("lead", "U66"), (f"# {payload}", "U67")),
        participants=("U66", "U67"),
        timeline=(
            event("2026-11-24 08:06", "declared", f"Declared SEV2: {payload}", "U66"),
            event("2026-11-24 08:10", "note", payload, "U67"),
            event(
                "2026-11-24 08:11",
                "note",
                f"one\n# {payload}\n<!-- hashi:begin evil -->\n|x|{payload}|",
                "U67",
            ),
            event(
                "2026-11-24 08:12",
                "slack_message",
                f"see <https://evil.example|{payload}> <@U66|[boss](http://x)> <@U99|{payload}>",
                "U67",
                permalink=f"javascript:alert('{payload}')",
            ),
            event("2026-11-24 08:20", "severity", f"Severity SEV2 → SEV1: {payload}", "U66"),
            event("2026-11-24 09:00", "resolved", f"Resolved: {payload}", "U66"),
        ),
        checklists=(ChecklistItemView(payload, "k", payload, True, "U67", utc("2026-11-24 08:20")),),
        followups=(FollowupView(payload, "U67", False), FollowupView(f"plain | {payload}", None, True)),
        severity_history=(
            (utc("2026-11-24 08:06"), "SEV2"),
            (utc("2026-11-24 08:20"), f"SEV1 ``` :crit; {payload} %% --> `"),
        ),
    )


def hostile_names(payload: str = HOSTILE) -> dict[str, str]:
    """Display names that try to inject too."""
    return {"U66": f"# {payload}", "U67": f"<img src=x onerror=alert(1)> | {payload}"}


def advance(snap: IncidentSnapshot, minutes: int) -> datetime:
    """A generated-at time a little after the incident's last event."""
    last = max(e.at for e in snap.timeline)
    return last + timedelta(minutes=minutes)
