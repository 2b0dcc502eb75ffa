"""The `hashi` command as a user runs it, on data seeded through IncidentService.

`hashi(...)` runs the command's entry point (bot.cli.command:main) in this process, as a process would: its
own working directory and environment, its stdout and stderr, its exit status. A subprocess costs about a
second, nearly all of it imports, so only what needs a process runs one (`hashi_process`: the installed
`hashi` script and `python -m bot`, end to end).
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from markdown_it import MarkdownIt

from bot.cli.command import main
from bot.cli.common import YOUNG_GENERATION, settle_heap
from bot.incidents.model import Milestone, Status
from bot.incidents.playbooks import Playbook, PlaybookItem
from bot.incidents.service import IncidentConfig, IncidentService
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Store
from tests.fakes import FixedClock, RecordingChat

REPO_ROOT = Path(__file__).resolve().parents[1]


# Running `hashi`


@dataclass(frozen=True)
class Result:
    """What one `hashi` run printed, and its exit status."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def __str__(self) -> str:
        return f"hashi {' '.join(self.args)} → {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def _environment(*, url: str, config: Path, tz: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without any Hashi or Slack setting, plus the ones this run names."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HASHI_", "SLACK_"))}
    path = os.pathsep.join(p for p in (str(REPO_ROOT), base.get("PYTHONPATH", "")) if p)
    return {
        **base,
        "PYTHONPATH": path,
        "HASHI_DATABASE_URL": url,
        "HASHI_CONFIG": str(config),
        "HASHI_TIMEZONE": tz,
        **extra,
    }


async def hashi(
    *args: str,
    cwd: Path,
    url: str | None = None,
    tz: str = "UTC",
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Result:
    """Runs `hashi ARGS` in this process as in a process of its own, in `cwd` (so no stray .env or
    hashi.toml is read), with only the Hashi and Slack settings this run names."""
    environment = _environment(
        url=url or f"sqlite:///{cwd / 'unused.db'}",
        config=config or cwd / "no-such-hashi.toml",
        tz=tz,
        extra=env or {},
    )
    return await asyncio.wait_for(asyncio.to_thread(_run_in_process, args, cwd, environment), timeout=60)


async def hashi_process(
    *args: str,
    cwd: Path,
    url: str | None = None,
    tz: str = "UTC",
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    script: bool = False,
) -> Result:
    """Runs `python -m bot ARGS` (with `script`: the installed `hashi` entry point) as a real process."""
    command = [str(Path(sys.executable).with_name("hashi"))] if script else [sys.executable, "-m", "bot"]
    proc = await asyncio.create_subprocess_exec(
        *command,
        *args,
        cwd=cwd,
        env=_environment(
            url=url or f"sqlite:///{cwd / 'unused.db'}",
            config=config or cwd / "no-such-hashi.toml",
            tz=tz,
            extra=env or {},
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Result(args=args, code=proc.returncode, out=out.decode("utf-8"), err=err.decode("utf-8"))


# One in-process run at a time in a worker: the working directory, the environment, sys.stdout and sys.stderr
# and the root logger are the process's.
_ONE_AT_A_TIME = threading.Lock()


def _run_in_process(args: Sequence[str], cwd: Path, environment: Mapping[str, str]) -> Result:
    """Calls the console script's entry point with ARGS on a thread of its own (it runs its own event loop),
    and puts back everything a process would have taken with it when it exited."""
    with _ONE_AT_A_TIME, _as_a_process(cwd, environment) as (out, err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = _exit_status(exit_.code, err)
    return Result(args=tuple(args), code=code, out=_text(out), err=_text(err))


def _exit_status(code: object, err: io.TextIOWrapper) -> int:
    """What the interpreter makes of `sys.exit(code)`: None is 0, a number itself, anything else printed
    on stderr and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=err)
    return 1


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


@contextmanager
def _as_a_process(
    cwd: Path, environment: Mapping[str, str]
) -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """The working directory, exactly `environment`, fresh UTF-8 stdout and stderr, a root logger without
    handlers (so warnings reach stderr as in a fresh interpreter), the collector's settings; all restored."""
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    saved_streams = sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_threshold = gc.get_threshold()
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environment)
        sys.stdout, sys.stderr = out, err
        root.handlers, root.level = [], logging.WARNING
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        for handler in root.handlers:  # what `hashi serve` configured (basicConfig)
            if handler not in saved_handlers:
                handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        gc.unfreeze()  # settle_heap() froze what the run had built
        gc.set_threshold(*saved_threshold)


def assert_ok(result: Result) -> None:
    """Exit 0 and nothing on stderr (a warning there is noise in a user's terminal or cron mail)."""
    assert result.code == 0, result
    assert result.err == "", result


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """The exit status, one `hashi: …` line on stderr naming the fragments, nothing on stdout."""
    assert result.code == code, result
    assert len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith("hashi: "), result
    for fragment in fragments:
        assert fragment in result.err_lines[0], result
    assert result.out == "", result


# Seeding through the real service


@asynccontextmanager
async def seeding(
    url: str, *, now: datetime, playbooks: Sequence[Playbook] = ()
) -> AsyncIterator[tuple[IncidentService, FixedClock]]:
    """The incident service on the database the CLI reads, with a recording Chat and a fixed clock."""
    engine = make_engine(url)
    clock = FixedClock(now)
    service = IncidentService(
        store=Store(engine),
        chat=RecordingChat(),
        clock=clock,
        config=IncidentConfig(playbooks=tuple(playbooks)),
    )
    try:
        yield service, clock
    finally:
        await engine.dispose()


async def _one_incident(url: str) -> int:
    """A bare incident, for tests about the command rather than the record."""
    async with seeding(url, now=DECLARED) as (service, _):
        return (await service.declare(title="Disk full", actor="U01")).incident.id


# The scripted incident: a SEV2 in Tokyo, declared at 14:00 JST after the outage began at 13:40.
DECLARED = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
TITLE = "決済APIのエラー率が上昇"
SUMMARY = "カード決済の一部が失敗しています"
NOTE = "ロールバックを開始します"
BACKDATED_NOTE = "アラートより先にサポートへ問い合わせがあった"
FOLLOWUP = "デプロイ前のカナリア検証を追加"
LATER_NOTE = "復旧後にエラー率を確認した"
TRIAGE = Playbook(
    name="triage",
    title="トリアージ",
    items=(
        PlaybookItem(key="page", title="オンコールを呼ぶ"),
        PlaybookItem(key="share", title="状況を共有する"),
    ),
)


def at(minutes: float) -> datetime:
    """Minutes after the declaration (negative: before it)."""
    return DECLARED + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


async def script_tokyo_incident(service: IncidentService, clock: FixedClock) -> int:
    """Declares and runs the scripted incident; returns its id (the clock ends at 06:00 UTC)."""
    assert clock.now() == DECLARED
    setup = await service.declare(
        title=TITLE,
        actor="U01",
        severity="sev2",
        summary=SUMMARY,
        services=["checkout", "決済"],
        impact_started_at=at(-20),  # backdated: the outage began before anyone declared
        detected_at=at(-10),
    )
    incident_id = setup.incident.id
    clock.advance(minutes=3)  # 05:03
    await service.acknowledge(incident_id=incident_id, actor="U02")
    clock.advance(minutes=1)  # 05:04
    await service.assign_role(incident_id=incident_id, role="lead", user_id="U02", actor="U01")
    await service.tick_items(
        incident_id=incident_id, playbook="triage", first=0, count=2, done={"page"}, actor="U02"
    )
    clock.advance(minutes=1)  # 05:05
    await service.assign_role(incident_id=incident_id, role="comms", user_id="U03", actor="U02")
    clock.advance(minutes=5)  # 05:10
    await service.add_note(incident_id=incident_id, text=NOTE, actor="U02")
    await service.add_note(incident_id=incident_id, text=BACKDATED_NOTE, actor="U03", at=at(-5))
    clock.advance(minutes=5)  # 05:15
    await service.set_status(
        incident_id=incident_id, status=Status.IDENTIFIED, actor="U02", message="直前のデプロイが原因"
    )
    clock.advance(minutes=17)  # 05:32, recording a mitigation two minutes late
    await service.set_status(incident_id=incident_id, status=Status.MONITORING, actor="U02", at=at(30))
    clock.advance(minutes=3)  # 05:35
    await service.add_followup(incident_id=incident_id, text=FOLLOWUP, actor="U02", owner="U03")
    clock.advance(minutes=15)  # 05:50
    await service.set_milestone(
        incident_id=incident_id, milestone=Milestone.IMPACT_ENDED, actor="U02", at=at(45)
    )
    clock.advance(minutes=10)  # 06:00
    await service.resolve(incident_id=incident_id, actor="U02", summary="ロールバックで復旧")
    return incident_id


# 1. hashi export --format json


async def test_export_json_has_the_interface_fields_and_exact_metrics(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url, now=DECLARED, playbooks=[TRIAGE]) as (service, clock):
        incident_id = await script_tokyo_incident(service, clock)
    out_file = tmp_path / "inc.json"
    plain, prefixed, to_file, unknown = await asyncio.gather(
        hashi(
            "export", str(incident_id), "--format", "json", cwd=tmp_path, url=database_url, tz="Asia/Tokyo"
        ),
        hashi("export", f"INC-{incident_id}", "--format", "json", cwd=tmp_path, url=database_url),
        hashi(
            "export",
            f"#{incident_id}",
            "--format",
            "json",
            "-o",
            str(out_file),
            cwd=tmp_path,
            url=database_url,
        ),
        hashi("export", "INC-999", "--format", "json", cwd=tmp_path, url=database_url),
    )
    for result in (plain, prefixed, to_file):
        assert_ok(result)
    assert plain.out == prefixed.out  # JSON times are UTC whatever HASHI_TIMEZONE says
    assert to_file.out == ""
    assert_one_line_error(unknown, 2, "INC-999")
    raw = out_file.read_bytes()
    assert raw.decode("utf-8") == plain.out
    # UTF-8, not \u escapes: a Japanese team reads and greps these files.
    for text in (TITLE, NOTE, BACKDATED_NOTE, FOLLOWUP, "決済"):
        assert text.encode("utf-8") in raw

    data = json.loads(plain.out)
    assert list(data) == [
        "id",
        "title",
        "severity",
        "status",
        "private",
        "services",
        "lead",
        "channel_id",
        "milestones",
        "metrics",
        "timeline",
        "checklists",
        "followups",
        "type",
        "fields",
    ]
    assert (data["id"], data["title"], data["severity"], data["status"], data["private"]) == (
        incident_id,
        TITLE,
        "SEV2",
        "resolved",
        False,
    )
    assert data["services"] == ["checkout", "決済"]
    assert data["lead"] == "U02"
    assert data["channel_id"] == "CINC1"  # the recording Chat's first room
    assert data["milestones"] == {
        "impact_started_at": "2026-11-24T04:40:00Z",
        "detected_at": "2026-11-24T04:50:00Z",
        "declared_at": "2026-11-24T05:00:00Z",
        "acknowledged_at": "2026-11-24T05:03:00Z",
        "mitigated_at": "2026-11-24T05:30:00Z",
        "resolved_at": "2026-11-24T06:00:00Z",
        "closed_at": None,
        "impact_ended_at": "2026-11-24T05:45:00Z",
    }
    # DESIGN.md: detect = detected − impact start; acknowledge = acknowledged − declared; mitigate, resolve
    # and impact duration count from the start (impact start here); the impact ends at impact_ended_at.
    assert data["metrics"] == {
        "time_to_detect": 600.0,
        "time_to_acknowledge": 180.0,
        "time_to_mitigate": 3000.0,
        "time_to_resolve": 4800.0,
        "impact_duration": 3900.0,
    }
    assert all(isinstance(v, float) for v in data["metrics"].values())

    timeline = [(e["at"], e["recorded_at"], e["kind"], e["actor"], e["text"]) for e in data["timeline"]]
    assert all(list(e) == ["at", "recorded_at", "kind", "actor", "text"] for e in data["timeline"])
    assert timeline == [
        (iso(-10), iso(0), "milestone", "U01", "Detected"),
        (iso(-5), iso(10), "note", "U03", BACKDATED_NOTE),
        (iso(0), iso(0), "declared", "U01", f"Declared SEV2: {TITLE}"),
        (iso(0), iso(0), "checklist", "U01", "Playbook started: トリアージ"),
        (iso(3), iso(3), "acknowledged", "U02", "Acknowledged"),
        (iso(4), iso(4), "lead", "U01", "Lead: <@U02>"),
        (iso(4), iso(4), "checklist", "U02", "Done: オンコールを呼ぶ"),
        (iso(5), iso(5), "role", "U02", "Role comms: <@U03>"),
        (iso(10), iso(10), "note", "U02", NOTE),
        (iso(15), iso(15), "status", "U02", "Status investigating → identified: 直前のデプロイが原因"),
        (iso(30), iso(32), "status", "U02", "Status identified → monitoring"),
        (iso(35), iso(35), "followup", "U02", f"Follow-up: {FOLLOWUP} (owner <@U03>)"),
        (iso(45), iso(50), "milestone", "U02", "Impact ended"),
        (iso(60), iso(60), "resolved", "U02", "Resolved: ロールバックで復旧"),
    ]
    assert [e["at"] for e in data["timeline"]] == sorted(e["at"] for e in data["timeline"])
    assert data["checklists"] == [
        {
            "playbook": "triage",
            "items": [
                {"title": "オンコールを呼ぶ", "done": True, "done_by": "U02", "done_at": iso(4)},
                {"title": "状況を共有する", "done": False, "done_by": None, "done_at": None},
            ],
        }
    ]
    assert data["followups"] == [
        {"text": FOLLOWUP, "owner": "U03", "done": False, "status": "open", "ticket": None, "url": None}
    ]


# 2. hashi export (Markdown) and --update

SRE_BOOK_HEADINGS = [
    ("h2", "Date"),
    ("h2", "Authors"),
    ("h2", "Status"),
    ("h2", "Summary"),
    ("h2", "Impact"),
    ("h2", "Root Causes"),
    ("h2", "Trigger"),
    ("h2", "Resolution"),
    ("h2", "Detection"),
    ("h2", "Action Items"),
    ("h2", "Lessons Learned"),
    ("h3", "What went well"),
    ("h3", "What went wrong"),
    ("h3", "Where we got lucky"),
    ("h2", "Timeline"),
    ("h2", "Supporting information"),
]
_MARKED_BYTES = re.compile(rb"(<!-- hashi:begin ([a-z0-9-]+) -->\r?\n).*?(<!-- hashi:end \2 -->)", re.DOTALL)


def headings(markdown: str) -> list[tuple[str, str]]:
    """(tag, text) of every heading, in order."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    return [(tok.tag, tokens[i + 1].content) for i, tok in enumerate(tokens) if tok.type == "heading_open"]


def outside_markers(raw: bytes) -> bytes:
    """Every byte people own: the draft with Hashi's marked sections emptied."""
    return _MARKED_BYTES.sub(rb"\1\3", raw)


def edit_outside_markers(draft: str) -> str:
    """What a postmortem author does: fills in Authors and Root Causes, adds to the Timeline and the end."""
    authors = re.search(r"## Authors\n\n(_[^\n]*_)\n", draft)
    root = re.search(r"## Root Causes\n\n(_[^\n]*_)\n", draft)
    outside = re.search(r"<!-- hashi:end timeline -->\n\n(_[^\n]*_)\n", draft)
    assert authors and root and outside, draft
    edited = draft.replace(authors[1], "佐藤, Alice Smith")
    edited = edited.replace(
        root[1],
        "根本原因: コネクションプールの枯渇。\n\nThe pool was sized for last year's load;  two spaces kept.",
    )
    edited = edited.replace(outside[1], "- 14:20 JST — サポートから顧客への連絡 (outside Slack)")
    return edited + "\n<!-- a reviewer's comment, not a marker -->\nSigned off by the review board.\n"


async def test_export_markdown_headings_times_and_update_round_trip(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url, now=DECLARED, playbooks=[TRIAGE]) as (service, clock):
        incident_id = await script_tokyo_incident(service, clock)
        draft_path = tmp_path / "postmortem.md"
        to_file, new_york = await asyncio.gather(
            hashi(
                "export",
                str(incident_id),
                "-o",
                str(draft_path),
                cwd=tmp_path,
                url=database_url,
                tz="Asia/Tokyo",
            ),
            hashi(
                "export",
                f"INC-{incident_id}",
                "--tz",
                "America/New_York",
                cwd=tmp_path,
                url=database_url,
                tz="JST",
            ),
        )
        for result in (to_file, new_york):
            assert_ok(result)
        assert to_file.out == ""
        tokyo = draft_path.read_text(encoding="utf-8")

        # The SRE book's sections, in order, under the incident's title.
        for draft in (tokyo, new_york.out):
            assert headings(draft) == [("h1", f"INC-{incident_id}: {TITLE}"), *SRE_BOOK_HEADINGS]
            for text in (TITLE, SUMMARY, NOTE, BACKDATED_NOTE, FOLLOWUP):
                assert text in draft

        # Times in HASHI_TIMEZONE with UTC beside them; --tz wins over HASHI_TIMEZONE.
        assert "times in Asia/Tokyo" in tokyo
        assert "2026-11-24 14:00 JST (2026-11-24 05:00 UTC)" in tokyo  # declared
        assert "2026-11-24 13:40 JST (2026-11-24 04:40 UTC)" in tokyo  # impact started
        assert f"2026-11-24 14:10 JST (2026-11-24 05:10 UTC) — U02: {NOTE}" in tokyo
        assert f"2026-11-24 13:55 JST (2026-11-24 04:55 UTC) — U03: {BACKDATED_NOTE}" in tokyo
        assert "2026-11-24 00:00 EST (2026-11-24 05:00 UTC)" in new_york.out
        assert "2026-11-23 → 2026-11-24" in new_york.out  # 23:40 EST the day before, to 01:00 EST
        assert "JST" not in new_york.out

        # --update: the author's edits outside the markers survive byte for byte; Hashi's parts refresh.
        edited = edit_outside_markers(draft_path.read_text(encoding="utf-8"))
        draft_path.write_bytes(edited.encode("utf-8"))
        broken_end = tmp_path / "broken-end.md"
        broken_end.write_bytes(edited.replace("<!-- hashi:end summary -->\n", "").encode("utf-8"))
        clock.advance(minutes=30)
        await service.add_note(incident_id=incident_id, text=LATER_NOTE, actor="U03")

        updated, bad_end = await asyncio.gather(
            hashi(
                "export",
                str(incident_id),
                "--update",
                str(draft_path),
                cwd=tmp_path,
                url=database_url,
                tz="JST",
            ),
            hashi("export", str(incident_id), "--update", str(broken_end), cwd=tmp_path, url=database_url),
        )
    assert updated.code == 0, updated
    assert updated.out == ""
    refreshed = draft_path.read_bytes()
    assert outside_markers(refreshed) == outside_markers(edited.encode("utf-8"))
    text = refreshed.decode("utf-8")
    assert (
        LATER_NOTE not in edited
        and f"2026-11-24 15:30 JST (2026-11-24 06:30 UTC) — U03: {LATER_NOTE}" in text
    )
    for mine in (
        "佐藤, Alice Smith",
        "根本原因: コネクションプールの枯渇。",
        "two spaces kept.",
        "outside Slack",
    ):
        assert text.count(mine) == 1
    assert headings(text) == [("h1", f"INC-{incident_id}: {TITLE}"), *SRE_BOOK_HEADINGS]

    # Broken markers: exit 2, one line naming the file and the line, and the file left as it was.
    begin_impact = (
        broken_end.read_text(encoding="utf-8").splitlines().index("<!-- hashi:begin impact -->") + 1
    )
    assert_one_line_error(bad_end, 2, str(broken_end), f"line {begin_impact}")
    assert broken_end.read_bytes() == edited.replace("<!-- hashi:end summary -->\n", "").encode("utf-8")


# A small hand-written draft, for what depends on the file rather than on the incident.
HAND_DRAFT = """\
<!-- hashi:begin title -->
# INC-1: an old title
<!-- hashi:end title -->

## Root Causes

The disk filled up: log rotation was off.

## Timeline

<!-- hashi:begin timeline -->

- nothing yet

<!-- hashi:end timeline -->

- 14:20 JST — we paged the vendor (outside Slack)
"""


async def test_update_refuses_mangled_markers_and_missing_files(sqlite_url: str, tmp_path: Path) -> None:
    incident_id = await _one_incident(sqlite_url)
    mangled = tmp_path / "mangled.md"
    text = HAND_DRAFT.replace("<!-- hashi:end timeline -->", "<!-- hashi: end timeline-->")
    mangled.write_text(text, encoding="utf-8")
    bad_marker, missing = await asyncio.gather(
        hashi("export", str(incident_id), "--update", str(mangled), cwd=tmp_path, url=sqlite_url),
        hashi("export", str(incident_id), "--update", "nowhere.md", cwd=tmp_path, url=sqlite_url),
    )
    line = text.splitlines().index("<!-- hashi: end timeline-->") + 1
    assert_one_line_error(bad_marker, 2, str(mangled), f"line {line}")
    assert mangled.read_text(encoding="utf-8") == text
    assert_one_line_error(missing, 2, "nowhere.md")
    assert not (tmp_path / "nowhere.md").exists()


# 2b. A postmortem template the team owns

TEAM_TEMPLATE = """\
{{title}}

> Our own postmortem form. Hashi fills the marked parts; the rest is ours.

## What happened

{{summary}}

{{ask.summary}}

## Customer impact

{{impact}}

## How we found out

{{detection}}

## Follow-ups

{{action_items}}

## Numbers

{{timeline}}

## Review notes

_Write here._
"""


async def test_a_team_template_lays_out_the_draft_and_update_keeps_working(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with seeding(sqlite_url, now=DECLARED, playbooks=[TRIAGE]) as (service, clock):
        incident_id = await script_tokyo_incident(service, clock)
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "postmortem.md").write_text(TEAM_TEMPLATE, encoding="utf-8")
    config = tmp_path / "hashi.toml"
    config.write_text('postmortem_template = "forms/postmortem.md"\n', encoding="utf-8")
    draft_path = tmp_path / "draft.md"
    exported = await hashi(
        "export",
        str(incident_id),
        "-o",
        str(draft_path),
        cwd=tmp_path,
        url=sqlite_url,
        config=config,
        tz="Asia/Tokyo",
    )
    assert_ok(exported)
    draft = draft_path.read_text(encoding="utf-8")
    assert [text for _, text in headings(draft)] == [
        f"INC-{incident_id}: {TITLE}",
        "What happened",
        "Customer impact",
        "How we found out",
        "Follow-ups",
        "Numbers",
        "Review notes",
    ]
    assert "Our own postmortem form." in draft and "Root Causes" not in draft and "Supporting" not in draft
    for name in ("summary", "impact", "detection", "action-items", "timeline"):
        assert f"<!-- hashi:begin {name} -->" in draft
    assert FOLLOWUP in draft and NOTE in draft and "{{" not in draft

    # The team writes in its draft, then more happens; --update refreshes Hashi's parts and keeps theirs.
    edited = draft.replace("_Write here._", "Reviewed by the SRE board on Friday.")
    draft_path.write_text(edited, encoding="utf-8")
    async with seeding(sqlite_url, now=at(70)) as (service, _):
        await service.add_note(incident_id=incident_id, text=LATER_NOTE, actor="U03")
        await service.add_followup(incident_id=incident_id, text="Alert on pool saturation", actor="U02")
    updated = await hashi(
        "export", str(incident_id), "--update", str(draft_path), cwd=tmp_path, url=sqlite_url, config=config
    )
    assert updated.code == 0, updated
    refreshed = draft_path.read_text(encoding="utf-8")
    assert "Reviewed by the SRE board on Friday." in refreshed and "_Write here._" not in refreshed
    assert LATER_NOTE in refreshed and "Alert on pool saturation" in refreshed
    assert outside_markers(refreshed.encode()) == outside_markers(edited.encode())


async def test_a_template_with_an_unknown_placeholder_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    incident_id = await _one_incident(sqlite_url)
    (tmp_path / "pm.md").write_text("# Postmortem\n\n{{summary}}\n\n{{root_cause}}\n", encoding="utf-8")
    config = tmp_path / "hashi.toml"
    config.write_text('postmortem_template = "pm.md"\n', encoding="utf-8")
    missing = tmp_path / "missing.toml"
    missing.write_text('postmortem_template = "nowhere.md"\n', encoding="utf-8")
    unknown, absent, doctor = await asyncio.gather(
        hashi("export", str(incident_id), cwd=tmp_path, url=sqlite_url, config=config),
        hashi("export", str(incident_id), cwd=tmp_path, url=sqlite_url, config=missing),
        hashi("doctor", cwd=tmp_path, url=sqlite_url, config=config),
    )
    assert_one_line_error(unknown, 2, "pm.md", "line 5", "unknown placeholder {{root_cause}}", "{{summary}}")
    assert_one_line_error(absent, 2, "postmortem_template", "nowhere.md")
    assert doctor.code == 1, doctor
    (line,) = [line for line in doctor.out.splitlines() if "postmortem template" in line]
    assert line.startswith("✗ postmortem template: postmortem_template pm.md, line 5: unknown placeholder")


# 3. hashi stats


@dataclass(frozen=True)
class Spec:
    """A seeded incident: when it started and its durations in minutes (None: never reached)."""

    severity: str
    services: tuple[str, ...]
    days_ago: float
    detect: float
    acknowledge: float | None
    mitigate: float | None
    resolve: float | None
    impact_end: float | None = None
    private: bool = False

    def metrics(self) -> dict[str, float | None]:
        """DESIGN.md's durations in seconds (declared two minutes after detection)."""

        def s(minutes: float | None) -> float | None:
            return None if minutes is None else minutes * 60

        impact = self.impact_end if self.impact_end is not None else self.mitigate
        if impact is None:
            impact = self.resolve
        return {
            "time_to_detect": s(self.detect),
            "time_to_acknowledge": s(self.acknowledge),
            "time_to_mitigate": s(self.mitigate),
            "time_to_resolve": s(self.resolve),
            "impact_duration": s(impact),
        }


# Twenty incidents inside the last 30 days, skewed like real ones; the checkout outage lasts 43.2 minutes.
IN_WINDOW = (
    Spec("SEV1", ("checkout",), 2.5, 5, 2, 43.2, 90),
    Spec("SEV2", ("search",), 3.5, 3, 1, 20, 40),
    Spec("SEV3", (), 4.5, 12, 5, 60, 120),
    Spec("SEV2", ("search", "payments"), 5.5, 1, 0.5, 15, 25, impact_end=10),
    Spec("SEV1", ("payments",), 6.5, 7, 3, 33, 70, private=True),
    Spec("SEV3", ("search",), 7.5, 20, None, 45, 180),
    Spec("SEV2", (), 8.5, 2, 4, 10, 15),
    Spec("SEV3", (), 9.5, 40, 10, 300, 600),
    Spec("SEV1", ("search",), 10.5, 4, 1, 25, 50),
    Spec("SEV2", ("payments",), 11.5, 6, 2, 18, 30),
    Spec("SEV3", ("search",), 12.5, 15, 8, None, None),
    Spec("SEV2", (), 13.5, 9, None, 22, 44, private=True),
    Spec("SEV1", (), 14.5, 2.5, 0.75, 12, 36),
    Spec("SEV3", ("search",), 15.5, 30, 6, 90, 240, impact_end=100),
    Spec("SEV2", ("search",), 16.5, 8, 3, 28, 56),
    Spec("SEV4", (), 18.5, 60, 20, 1440, 2880),
    Spec("SEV3", ("search",), 20.5, 10, None, None, None, private=True),
    Spec("SEV2", ("payments",), 22.5, 5, 2, 35, 75),
    Spec("SEV1", ("search",), 25.5, 1, 1, 8, 20),
    Spec("SEV3", (), 28.5, 25, 12, 75, 150),
)
# Outside the 30 days: one that started 30 days and an hour ago and hurt payments for its first two hours
# (an hour of it inside the window), a long checkout outage 45 days ago, and two older ones.
STRADDLER = Spec("SEV2", ("payments",), 30 + 1 / 24, 2, 1, 120, 180)
OUTSIDE = (
    STRADDLER,
    Spec("SEV1", ("checkout",), 45, 5, 1, 600, 720),
    Spec("SEV2", (), 50, 3, 2, 30, 60),
    Spec("SEV3", ("search",), 100, 10, 5, 40, 80),
)
METRICS = ("time_to_detect", "time_to_acknowledge", "time_to_mitigate", "time_to_resolve", "impact_duration")
HASHI_TOML = """\
[services.checkout]
slo = 99.9

[services.payments]
slo = 99.5
"""


async def seed_stats(url: str, now: datetime) -> dict[Spec, int]:
    """Declares and runs every incident of IN_WINDOW and OUTSIDE; their ids by spec."""
    ids: dict[Spec, int] = {}
    async with seeding(url, now=now) as (service, clock):
        for number, spec in enumerate((*IN_WINDOW, *OUTSIDE), start=1):
            start = now - timedelta(days=spec.days_ago)
            detected = start + timedelta(minutes=spec.detect)
            clock.current = detected + timedelta(minutes=2)  # declared two minutes after detection
            setup = await service.declare(
                title=f"Stats incident {number}",
                actor="U01",
                severity=spec.severity,
                services=spec.services,
                private=spec.private,
                impact_started_at=start,
                detected_at=detected,
            )
            incident_id = setup.incident.id
            if spec.acknowledge is not None:
                when = clock.current + timedelta(minutes=spec.acknowledge)
                await service.acknowledge(incident_id=incident_id, actor="U01", at=when)
            if spec.mitigate is not None:
                when = start + timedelta(minutes=spec.mitigate)
                await service.mark_mitigated(incident_id=incident_id, actor="U01", at=when)
            if spec.impact_end is not None:
                when = start + timedelta(minutes=spec.impact_end)
                await service.set_milestone(
                    incident_id=incident_id, milestone=Milestone.IMPACT_ENDED, actor="U01", at=when
                )
            if spec.resolve is not None:
                when = start + timedelta(minutes=spec.resolve)
                await service.resolve(incident_id=incident_id, actor="U01", at=when)
            ids[spec] = incident_id
    return ids


def reference_percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), written out independently."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def reference_group(specs: Iterable[Spec]) -> dict[str, Any]:
    """What `hashi stats --format json` should say of one group."""
    specs = list(specs)
    group: dict[str, Any] = {"count": len(specs)}
    for metric in METRICS:
        values = [v for v in (s.metrics()[metric] for s in specs) if v is not None]
        group[metric] = {
            "count": len(values),
            "p50": reference_percentile(values, 50),
            "p90": reference_percentile(values, 90),
            "max": max(values),
            "mean": sum(values) / len(values),
        }
    return group


def assert_group(actual: Mapping[str, Any], expected: Mapping[str, Any], name: str) -> None:
    assert actual["count"] == expected["count"], name
    for metric, dist in expected.items():
        if metric == "count":
            continue
        got = {k: actual[metric][k] for k in ("count", "p50", "p90", "max", "mean")}
        assert got == pytest.approx(dist, rel=1e-9, abs=1e-9), (name, metric)


def flagged_ids(data: Mapping[str, Any]) -> set[int]:
    return {i for flag in data["flags"].values() for i in flag["incidents"]}


async def test_stats_distributions_slo_budget_and_privacy(database_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = await seed_stats(database_url, now)
    config = tmp_path / "hashi.toml"
    config.write_text(HASHI_TOML, encoding="utf-8")

    async def stats(*args: str) -> Result:
        return await hashi("stats", *args, cwd=tmp_path, url=database_url, config=config)

    by_severity, by_service, as_csv, as_table, quarter = await asyncio.gather(
        stats("--since", "30d", "--by", "severity", "--format", "json"),
        stats("--by", "service", "--format", "json"),
        stats("--by", "service", "--format", "csv"),
        stats("--by", "service"),
        stats("--since", "12w", "--format", "json"),
    )
    for result in (by_severity, by_service, as_csv, as_table, quarter):
        assert_ok(result)

    # Every incident that started in the window counts, private ones too.
    data = json.loads(by_severity.out)
    assert data["count"] == len(IN_WINDOW) == 20
    severities = sorted({s.severity for s in IN_WINDOW})
    assert sorted(data["groups"]) == severities
    for code in severities:
        assert_group(data["groups"][code], reference_group(s for s in IN_WINDOW if s.severity == code), code)

    # By service: an incident with two services counts in both; the service-less ones form one group.
    data = json.loads(by_service.out)
    assert data["count"] == 20
    named = ("checkout", "payments", "search")
    for service in named:
        expected = reference_group(s for s in IN_WINDOW if service in s.services)
        assert_group(data["groups"][service], expected, service)
    (no_service,) = set(data["groups"]) - set(named)
    assert_group(data["groups"][no_service], reference_group(s for s in IN_WINDOW if not s.services), "none")
    assert data["groups"]["payments"]["count"] == 4  # the straddler started before the window

    # SLOs: one 43.2-minute checkout outage in 30 days uses all of a 99.9 % budget (the 45-day-old one
    # is outside). Payments lost its in-window incidents plus the straddler's hour inside the window.
    checkout = data["services"]["checkout"]
    assert checkout["error_budget_used"] == pytest.approx(1.0, rel=1e-12)
    assert checkout["availability"] == pytest.approx(0.999, rel=1e-12)
    payments = data["services"]["payments"]
    in_window = sum(s.metrics()["impact_duration"] or 0 for s in IN_WINDOW if "payments" in s.services)
    budget = 0.005 * 30 * 86400
    # The CLI's clock runs a few seconds after seeding, so the straddler's hour inside is a little shorter.
    assert payments["error_budget_used"] == pytest.approx((in_window + 3600) / budget, abs=120 / budget)
    window = 30 * 86400
    assert payments["availability"] == pytest.approx(1 - (in_window + 3600) / window, abs=120 / window)
    for result in (by_severity, by_service, quarter):
        assert set(json.loads(result.out)["services"]) == {"checkout", "payments"}

    # Without --by, one group. 12 weeks adds the straddler and the 45- and 50-day-old incidents.
    quarter_specs = [s for s in (*IN_WINDOW, *OUTSIDE) if s.days_ago < 84]
    assert json.loads(quarter.out)["count"] == len(quarter_specs) == 23
    (quarter_group,) = json.loads(quarter.out)["groups"].values()
    assert_group(quarter_group, reference_group(quarter_specs), "12w")

    # Private incidents count, but no output names them. Public ones with data problems are named.
    private = {ids[s] for s in IN_WINDOW if s.private}
    public_unacknowledged = {ids[s] for s in IN_WINDOW if s.acknowledge is None and not s.private}
    for result in (by_severity, by_service, quarter):
        assert not flagged_ids(json.loads(result.out)) & private
    assert public_unacknowledged <= flagged_ids(json.loads(by_service.out))
    for incident_id in private:
        assert not re.search(rf"\bINC-{incident_id}\b", as_table.out)
        assert not re.search(rf"\bINC-{incident_id}\b", by_service.out)
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    flag_ids = {int(i) for r in rows if r["scope"] == "flag" for i in r["value"].split()}
    assert public_unacknowledged <= flag_ids and not flag_ids & private

    # CSV: the same numbers as the JSON, one row per group and metric.
    for service in named:
        expected = reference_group(s for s in IN_WINDOW if service in s.services)
        for metric, dist in expected.items():
            if metric == "count":
                continue
            (row,) = [r for r in rows if (r["scope"], r["name"], r["measure"]) == ("group", service, metric)]
            got = {k: float(row[k]) for k in ("p50", "p90", "max", "mean")} | {"count": int(row["count"])}
            assert got == pytest.approx(dist, rel=1e-9), (service, metric)
    measures = {r["measure"]: r["value"] for r in rows if (r["scope"], r["name"]) == ("service", "checkout")}
    assert float(measures["error_budget_used"]) == pytest.approx(1.0, rel=1e-12)
    assert float(measures["availability"]) == pytest.approx(0.999, rel=1e-12)

    # The table: every group and the SLO line, readable.
    for service in named:
        assert re.search(
            rf"^{service}: {sum(service in s.services for s in IN_WINDOW)} incidents?$", as_table.out, re.M
        )
    (checkout_line,) = [line for line in as_table.out.splitlines() if line.strip().startswith("checkout ")]
    assert "99.9%" in checkout_line and "99.9000%" in checkout_line and "100.0%" in checkout_line


# 3b. Any window, and trends: the real Statuspage history of status.myemma.com (2017-2019) replayed


async def replay_emma(url: str) -> list[tuple[datetime, datetime]]:
    """Declares and resolves each real incident at its recorded times (declared at the first update, mitigated
    at the first `monitoring`, resolved at the first `resolved`); their (declared, resolved) times."""
    from tests.reports.test_real_data import statuspage_facts

    facts = statuspage_facts("statuspage_v2_emma_incidents.json")
    replayed = []
    async with seeding(url, now=DECLARED) as (service, clock):
        for fact in sorted(facts, key=lambda f: f.milestones.declared_at or DECLARED):
            m = fact.milestones
            assert m.declared_at is not None and m.resolved_at is not None
            clock.current = m.declared_at
            incident_id = (await service.declare(title=f"emma {fact.id}", actor="U01")).incident.id
            if m.mitigated_at is not None:
                clock.current = max(m.mitigated_at, m.declared_at)
                await service.mark_mitigated(incident_id=incident_id, actor="U01", at=m.mitigated_at)
            clock.current = m.resolved_at
            await service.resolve(incident_id=incident_id, actor="U01")
            replayed.append((m.declared_at, m.resolved_at))
    return replayed


def hand_median(pairs: Iterable[tuple[datetime, datetime]]) -> float:
    """The median time to resolve in seconds, worked out by hand: the middle value, or the mean of the two."""
    ordered = sorted((resolved - declared).total_seconds() for declared, resolved in pairs)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@pytest.mark.reference_data  # the real Statuspage history stays in ../shared/data/incidents
async def test_real_history_over_absolute_windows_and_quarters(sqlite_url: str, tmp_path: Path) -> None:
    """An absolute window over 2017-2019 (far past any duration cap) gives SOURCE.md's 40.0-minute median;
    a calendar year and each quarter give the median worked out by hand from the data."""
    replayed = await replay_emma(sqlite_url)
    chicago = ZoneInfo("America/Chicago")

    async def stats(*args: str) -> Result:
        return await hashi(
            "stats", *args, "--format", "json", cwd=tmp_path, url=sqlite_url, tz="America/Chicago"
        )

    everything, year_2018, as_range, since_all, long_ago, quarters = await asyncio.gather(
        stats("--since", "2017-01-01", "--until", "2019-03-01"),
        stats("--since", "2018-01-01", "--until", "2019-01-01"),
        stats("--since", "2018-01-01..2019-01-01"),
        stats("--since", "all"),
        stats("--since", "5000d"),
        stats("--since", "2017-01-01", "--until", "2019-03-01", "--every", "quarter"),
    )
    for result in (everything, year_2018, as_range, since_all, long_ago, quarters):
        assert_ok(result)

    def resolve_p50(result: Result) -> float:
        (group,) = json.loads(result.out)["groups"].values()
        p50: float = group["time_to_resolve"]["p50"]
        return p50

    assert json.loads(everything.out)["count"] == len(replayed) == 22
    assert resolve_p50(everything) == pytest.approx(hand_median(replayed), abs=1e-3)
    assert resolve_p50(everything) / 60 == pytest.approx(40.0, abs=0.1)  # SOURCE.md
    for result in (since_all, long_ago):
        assert json.loads(result.out)["count"] == 22
        assert resolve_p50(result) == resolve_p50(everything)

    # 2018 in Chicago time: midnight to midnight, the local dates of the data.
    in_2018 = [p for p in replayed if p[0].astimezone(chicago).year == 2018]
    assert json.loads(year_2018.out)["count"] == len(in_2018) == 15
    assert json.loads(year_2018.out)["window"]["since"] == "2018-01-01T06:00:00Z"
    assert resolve_p50(year_2018) == pytest.approx(hand_median(in_2018), abs=1e-3)
    assert json.loads(as_range.out) == json.loads(year_2018.out)

    # One row per quarter, which together hold every incident once.
    periods = json.loads(quarters.out)["periods"]
    assert periods[0]["period"] == "2017-Q1" and periods[-1]["period"] == "2019-Q1" and len(periods) == 9
    assert sum(p["count"] for p in periods) == 22
    for period in periods:
        since, until = (datetime.fromisoformat(period[k].replace("Z", "+00:00")) for k in ("since", "until"))
        inside = [p for p in replayed if since <= p[0] < until]
        assert period["count"] == len(inside), period["period"]
        expected = hand_median(inside) if inside else None
        assert period["time_to_resolve"]["p50"] == pytest.approx(expected, abs=1e-3), period["period"]


async def test_trend_formats_and_refused_windows(sqlite_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await seed_stats(sqlite_url, now)
    config = tmp_path / "hashi.toml"
    config.write_text(HASHI_TOML, encoding="utf-8")

    async def stats(*args: str) -> Result:
        return await hashi("stats", *args, cwd=tmp_path, url=sqlite_url, config=config)

    table, as_csv, as_json, backwards, both, bad_date, with_by = await asyncio.gather(
        stats("--since", "12w", "--every", "month"),
        stats("--since", "12w", "--every", "week", "--format", "csv"),
        stats("--since", "12w", "--every", "week", "--format", "json"),
        stats("--since", "2026-10-01", "--until", "2026-07-01"),
        stats("--since", "2026-07-01..2026-08-01", "--until", "2026-09-01"),
        stats("--since", "2026-02-30"),
        stats("--every", "month", "--by", "service"),
    )
    for result in (table, as_csv, as_json):
        assert_ok(result)
    data = json.loads(as_json.out)
    assert data["every"] == "week" and sum(p["count"] for p in data["periods"]) == 23
    for period in data["periods"]:
        assert set(period["services"]) == {"checkout", "payments"}
        for service in period["services"].values():
            assert 0 <= service["availability"] <= 1 and service["error_budget_used"] >= 0
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert [r["period"] for r in rows] == [p["period"] for p in data["periods"]]
    assert [int(r["count"]) for r in rows] == [p["count"] for p in data["periods"]]
    assert {"time_to_resolve_p50", "checkout:availability", "payments:error_budget_used"} <= set(rows[0])
    lines = table.out.splitlines()
    assert lines[0].startswith("Incidents by month") and "checkout availability" in lines[2]
    assert sum(int(line.split()[1]) for line in lines[3:] if line.strip()) == 23
    assert_one_line_error(backwards, 2, "ends", "before it starts")
    assert_one_line_error(both, 2, "once")
    assert_one_line_error(bad_date, 2, "2026-02-30 is not a date")
    assert_one_line_error(with_by, 2, "--every", "--by")


# 4. Exit statuses and one-line errors


async def test_usage_and_configuration_errors_are_one_line(tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[services.checkout]\nslo = 120\n", encoding="utf-8")
    results = await asyncio.gather(
        hashi("export", "1", cwd=tmp_path, url="mysql://root@localhost/hashi"),
        hashi("export", "1", cwd=tmp_path, url="postgresql://postgres@127.0.0.1:1/x"),
        hashi("frobnicate", cwd=tmp_path),
        hashi("export", cwd=tmp_path),
        hashi("export", "INC-twelve", cwd=tmp_path),
        hashi("export", "INC-²", cwd=tmp_path),  # a digit to str.isdigit, not to int()
        hashi("stats", "--since", "soon", cwd=tmp_path),
        hashi("stats", cwd=tmp_path, config=bad_toml),
        hashi("--help", cwd=tmp_path),
    )
    mysql, unreachable, unknown, no_id, not_an_id, superscript, bad_since, bad_config, help_ = results
    assert_one_line_error(mysql, 2, "mysql")
    assert_one_line_error(unreachable, 1, "cannot reach the database at postgresql://", "HASHI_DATABASE_URL")
    assert_one_line_error(unknown, 2, "frobnicate")
    assert_one_line_error(no_id, 2, "incident")
    assert_one_line_error(not_an_id, 2, "INC-twelve")
    assert_one_line_error(superscript, 2, "INC-²")
    assert_one_line_error(bad_since, 2, "--since", "soon")
    assert_one_line_error(bad_config, 2, str(bad_toml), "slo")
    assert_ok(help_)
    for command in ("serve", "demo", "db", "export", "stats", "playbooks", "manifest"):
        assert command in help_.out


# 5. hashi playbooks check

BROKEN_PLAYBOOK = """\
name: broken-one
title: A broken playbook
owner: sre-team
items:
  - title: Page the on-call
    due: ten minutes
  - title: Post an update
    colour: red
    due: 15
"""
BAD_SEVERITY_PLAYBOOK = """\
name: sev-check
title: Severity check
applies_to:
  severities: [SEV1, SEV9]
items:
  - title: Do a thing
    role: pilot
"""
GOOD_PLAYBOOK = """\
name: fine
title: A fine playbook
items:
  - title: Page the on-call
    due: 5m
"""
_PROBLEM = re.compile(r"(?P<path>.+?\.ya?ml):(?P<line>\d+): (?P<reason>.+)")


async def test_playbooks_check(tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "broken.yaml").write_text(BROKEN_PLAYBOOK, encoding="utf-8")
    (folder / "severity.yml").write_text(BAD_SEVERITY_PLAYBOOK, encoding="utf-8")
    (folder / "good.yaml").write_text(GOOD_PLAYBOOK, encoding="utf-8")

    shipped, broken, from_env, missing = await asyncio.gather(
        hashi("playbooks", "check", cwd=tmp_path),
        hashi("playbooks", "check", str(folder), cwd=tmp_path),
        hashi("playbooks", "check", cwd=tmp_path, env={"HASHI_PLAYBOOKS_DIR": str(folder)}),
        hashi("playbooks", "check", str(tmp_path / "absent"), cwd=tmp_path),
    )
    assert_ok(shipped)
    shipped_count = len(list((REPO_ROOT / "playbooks").glob("*.yaml")))
    assert f"{shipped_count} playbook(s) OK" in shipped.out

    for result in (broken, from_env):
        assert result.code == 2, result
        *problems, summary = result.err_lines
        parsed = [_PROBLEM.fullmatch(line) for line in problems]
        assert all(parsed), problems
        found = [(Path(m["path"]).name, int(m["line"]), m["reason"]) for m in parsed if m]
        assert all(Path(m["path"]).parent == folder for m in parsed if m)
        assert [(name, line) for name, line, _ in found] == [
            ("broken.yaml", 3),
            ("broken.yaml", 6),
            ("broken.yaml", 8),
            ("broken.yaml", 9),
            ("severity.yml", 4),
            ("severity.yml", 7),
        ]
        reasons = [reason for _, _, reason in found]
        assert "unknown key 'owner'" in reasons[0]
        assert "due" in reasons[1] and "duration" in reasons[1]
        assert "unknown key 'colour'" in reasons[2]
        assert "due" in reasons[3] and "unit" in reasons[3]
        assert "SEV9" in reasons[4]
        assert "pilot" in reasons[5]
        assert summary == f"6 problem(s) in {folder}"

    assert_one_line_error(missing, 2, "absent")


# 6. hashi manifest


def _keys(node: Any) -> Iterable[str]:
    """Every mapping key anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


async def test_manifest_for_http_and_socket_mode(tmp_path: Path) -> None:
    http, socket, *refused = await asyncio.gather(
        hashi("manifest", "--url", "https://x.example/", cwd=tmp_path),
        hashi("manifest", "--socket-mode", cwd=tmp_path),
        hashi("manifest", cwd=tmp_path),
        hashi("manifest", "--url", "x.example.com", cwd=tmp_path),
        hashi("manifest", "--url", "http://x.example.com", cwd=tmp_path),
        hashi("manifest", "--url", "https://", cwd=tmp_path),
        hashi("manifest", "--socket-mode", "--url", "https://x.example", cwd=tmp_path),
    )
    neither, bare, plain_http, no_host, both = refused
    assert_one_line_error(neither, 2, "--socket-mode", "--url https://")
    for result in (bare, plain_http, no_host):
        assert_one_line_error(result, 2, "is not an https:// address", "--url https://hashi.example.com")
    assert_one_line_error(both, 2, "--socket-mode and --url exclude each other")
    for result in (http, socket):
        assert_ok(result)
    documents = {"http": yaml.safe_load(http.out), "socket": yaml.safe_load(socket.out)}
    for name, doc in documents.items():
        (command,) = doc["features"]["slash_commands"]
        assert command["command"] == "/incident", name
        assert command["should_escape"] is True, name
        assert doc["settings"]["interactivity"]["is_enabled"] is True, name
        events = set(doc["settings"]["event_subscriptions"]["bot_events"])
        assert {
            "pin_added",
            "reaction_added",
            "member_joined_channel",
            "app_home_opened",
            "message.channels",
        } <= events, name
        scopes = set(doc["oauth_config"]["scopes"]["bot"])
        assert {
            "commands",
            "chat:write",
            "channels:manage",
            "groups:write",
            "pins:write",
            "files:write",
            "users:read",
        } <= scopes, name

    http_mode = documents["http"]
    # The web dashboard's Sign in with Slack: its redirect and the OpenID user scopes.
    assert http_mode["oauth_config"]["redirect_urls"] == ["https://x.example/auth/callback"]
    assert http_mode["oauth_config"]["scopes"]["user"] == ["openid", "profile"]
    assert http_mode["settings"]["socket_mode_enabled"] is False
    assert http_mode["settings"]["event_subscriptions"]["request_url"] == "https://x.example/slack/events"
    assert http_mode["settings"]["interactivity"]["request_url"] == "https://x.example/slack/events"
    assert http_mode["features"]["slash_commands"][0]["url"] == "https://x.example/slack/events"

    socket_mode = documents["socket"]
    assert socket_mode["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in set(_keys(socket_mode))
    assert "url" not in socket_mode["features"]["slash_commands"][0]
    assert "x.example" not in socket.out


async def test_serve_names_everything_missing_at_once_and_suggests_socket_mode(tmp_path: Path) -> None:
    nothing, user_token, http_without_secret, bad_app_token = await asyncio.gather(
        hashi("serve", cwd=tmp_path),
        hashi("serve", cwd=tmp_path, env={"SLACK_BOT_TOKEN": "xoxp-1-2", "SLACK_SIGNING_SECRET": "s"}),
        hashi(
            "serve", "--http", cwd=tmp_path, env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
        ),
        hashi("serve", cwd=tmp_path, env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}),
    )
    assert_one_line_error(
        nothing, 2, "SLACK_BOT_TOKEN is not set", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "Socket Mode"
    )
    assert "hashi manifest --socket-mode" in nothing.err and "public https://" in nothing.err
    assert_one_line_error(user_token, 2, "SLACK_BOT_TOKEN holds a user token (xoxp-…)", "xoxb-")
    assert_one_line_error(http_without_secret, 2, "SLACK_SIGNING_SECRET is not set", "--http")
    assert_one_line_error(bad_app_token, 2, "SLACK_APP_TOKEN does not start with xapp-")
    assert os.listdir(tmp_path) == []  # not even an empty database


async def test_reports_on_a_missing_database_say_where_they_looked_and_create_nothing(tmp_path: Path) -> None:
    results = await asyncio.gather(
        hashi("stats", cwd=tmp_path, url="sqlite:///hashi.db"),
        hashi("export", "1", cwd=tmp_path, url="sqlite:///hashi.db"),
        hashi("export", "1", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'elsewhere.db'}"),
    )
    for result in results[:2]:
        assert_one_line_error(result, 2, f"no database at {tmp_path / 'hashi.db'}", "HASHI_DATABASE_URL")
    assert_one_line_error(results[2], 2, f"no database at {tmp_path / 'elsewhere.db'}")
    assert os.listdir(tmp_path) == []
    upgraded = await hashi("db", "upgrade", cwd=tmp_path, url="sqlite:///hashi.db")
    assert_ok(upgraded)  # the one command that makes a database
    assert (tmp_path / "hashi.db").is_file()


# Regressions: bugs these tests found (CRLF drafts, unknown zones, huge ids, --update with JSON)


async def test_update_keeps_crlf_line_endings(sqlite_url: str, tmp_path: Path) -> None:
    incident_id = await _one_incident(sqlite_url)
    draft = tmp_path / "draft.md"
    edited = HAND_DRAFT.replace("\n", "\r\n").encode("utf-8")
    draft.write_bytes(edited)
    result = await hashi("export", str(incident_id), "--update", str(draft), cwd=tmp_path, url=sqlite_url)
    assert result.code == 0, result
    refreshed = draft.read_bytes()
    assert b"Disk full" in refreshed  # the title section was refreshed
    assert outside_markers(refreshed) == outside_markers(edited)


async def test_unknown_tz_is_a_usage_error(sqlite_url: str, tmp_path: Path) -> None:
    incident_id = await _one_incident(sqlite_url)
    result = await hashi("export", str(incident_id), "--tz", "Asia/Tokio", cwd=tmp_path, url=sqlite_url)
    assert_one_line_error(result, 2, "Asia/Tokio")


async def test_out_of_range_incident_id_is_a_usage_error(database_url: str, tmp_path: Path) -> None:
    result = await hashi("export", "99999999999999999999", cwd=tmp_path, url=database_url)
    assert_one_line_error(result, 2, "99999999999999999999")


async def test_update_with_json_format_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    incident_id = await _one_incident(sqlite_url)
    draft = tmp_path / "draft.md"
    draft.write_text(HAND_DRAFT, encoding="utf-8")
    result = await hashi(
        "export", str(incident_id), "--format", "json", "--update", str(draft), cwd=tmp_path, url=sqlite_url
    )
    assert draft.read_text(encoding="utf-8") == HAND_DRAFT
    assert_one_line_error(result, 2, "--update")


async def test_reports_on_a_database_from_an_older_version_say_how_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        await upgrade(engine, revision="0003")  # before incident_stats
    finally:
        await engine.dispose()
    stats = await hashi("stats", "--since", "30d", cwd=tmp_path, url=url)
    assert_one_line_error(stats, 2, "revision 0003", "hashi db upgrade")
    assert_ok(await hashi("db", "upgrade", cwd=tmp_path, url=url))
    assert_ok(await hashi("stats", "--since", "30d", cwd=tmp_path, url=url))
    await asyncio.to_thread((tmp_path / "empty.db").touch)  # a database file nothing has migrated yet
    empty = await hashi("export", "1", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert_one_line_error(empty, 2, "none (empty)", "hashi db upgrade")


async def test_the_installed_script_and_python_m_bot_run_the_command_end_to_end(tmp_path: Path) -> None:
    """The other tests call the entry point in this process; these run it as a user does, in processes
    of their own: the `hashi` script pip installed and `python -m bot`, their exit statuses and stderr."""
    help_, usage, unreachable, missing = await asyncio.gather(
        hashi_process("--help", cwd=tmp_path, script=True),
        hashi_process("export", "INC-twelve", cwd=tmp_path),
        hashi_process("export", "1", cwd=tmp_path, url="postgresql://postgres@127.0.0.1:1/x", script=True),
        hashi_process("stats", cwd=tmp_path, url="sqlite:///hashi.db"),
    )
    assert_ok(help_)
    for command in ("serve", "demo", "db", "export", "stats", "playbooks", "manifest"):
        assert command in help_.out
    assert_one_line_error(usage, 2, "INC-twelve")
    assert_one_line_error(unreachable, 1, "cannot reach the database at postgresql://", "HASHI_DATABASE_URL")
    assert_one_line_error(missing, 2, f"no database at {tmp_path / 'hashi.db'}", "HASHI_DATABASE_URL")
    assert os.listdir(tmp_path) == []


def test_settle_heap_freezes_what_start_up_built_and_widens_the_young_generation() -> None:
    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_threshold() == (YOUNG_GENERATION, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_command_loads_no_stand_in_until_the_demo_runs() -> None:
    """Only `hashi demo` loads the Slack stand-in (import-linter checks who imports it; this, that
    bot/cli/command.py imports the demo lazily): `hashi serve` carries none of it."""
    code = (
        "import sys, bot.cli.command, bot.runtime\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('standin', 'bot.demo')))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
