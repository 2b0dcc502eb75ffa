"""`hashi demo`: a scripted incident through the real app, over HTTP, against a local Slack stand-in.

The story takes three quarters of an hour: Hashi and the stand-in share a clock set that far back, which the
script moves forward between steps, and every time in the record comes from the app itself (a command, a
button, a `10m ago` the commands accept), as it would in a real workspace. The database stays behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.times import zone
from bot.settings import TeamConfig, shipped_playbooks_dir
from bot.slack.ids import Action, Block, Field
from standin.driver import checkboxes_value, input_value, select_value
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec, find_spec_path

STORY_MINUTES = 46  # how far back the clock starts; the resolution comes a minute or two before now
SERVICES = "payments-api, checkout"  # names, the same in every language
JAPANESE_PLAYBOOK = "sev-ja.yaml"
# English is read in the reader's zone (HASHI_TIMEZONE, else UTC), Japanese in Tokyo.
JAPANESE_ZONE = "Asia/Tokyo"


class StoryClock:
    """Hashi's and the stand-in's clock in the demo: set back at the start, moved forward by the script,
    never past the real time."""

    def __init__(self, *, start: datetime) -> None:
        self.start = start
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        """The story's current UTC-aware time (it runs on with the real clock between moves)."""
        return datetime.now(UTC) + self._offset

    def move_to(self, minute: int) -> None:
        """Moves the story to `minute` minutes after its start (never backwards, never past now)."""
        real = datetime.now(UTC)
        wanted = self.start + timedelta(minutes=minute)
        self._offset = min(max(self._offset, wanted - real), timedelta(0))


def default_database() -> Path:
    """The demo's database under the user's data folder (XDG_DATA_HOME, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hashi" / "demo.db"


def checklist_message(hashi: Hashi, room: str) -> dict[str, Any]:
    """The checklist message Hashi posted in the room, as it is now."""
    for message in hashi.messages(room):
        if any(b.get("block_id", "").startswith("hashi_checklist_") for b in message.get("blocks", [])):
            return message
    raise LookupError("no checklist message in the room")


class _Story:
    """The script: the people's actions in the workspace, each at its minute of the story, told on stderr."""

    def __init__(self, hashi: Hashi, clock: StoryClock, *, lang: Lang, tz: ZoneInfo) -> None:
        self.hashi, self.d, self.clock, self.lang, self.tz = hashi, hashi.driver, clock, lang, tz

    def say(self, key: str, **params: object) -> None:
        when = self.clock.now().astimezone(self.tz).strftime("%H:%M")
        print(f"  » {when}  {t(f'demo.{key}', self.lang, **params)}", file=sys.stderr)

    def words(self, key: str) -> str:
        return t(f"demo.story.{key}", self.lang)

    async def at(self, minute: int) -> None:
        await self.hashi.settle()  # the work of the last step is done before the clock moves on
        self.clock.move_to(minute)

    async def command(self, text: str, *, user: str, room: str) -> None:
        await self.d.command(text, user_id=user, channel_id=room)

    async def tick(self, room: str, *, user: str, key: str, who: str) -> None:
        """Ticks one item of the checklist (Slack sends every box of the block as it now stands)."""
        message = checklist_message(self.hashi, room)
        for block in message["blocks"]:
            if block.get("type") != "actions":
                continue
            element = block["elements"][0]
            options = {o["value"]: o for o in element["options"]}
            item = next((v for v in options if v.split("/", 1)[1] == key), None)
            if item is None:
                continue
            checked = [o["value"] for o in element.get("initial_options") or []]
            self.say("tick", who=who, item=options[item]["text"]["text"])
            await self.d.click(
                user_id=user,
                channel_id=room,
                message=message,
                action_id=Action.CHECKLIST,
                values=[*checked, item],
                block_id=block["block_id"],
            )
            return
        raise LookupError(f"no checklist item {key}")

    async def run(self) -> int:
        """Declares, works and resolves an incident the way a team would, then returns its id."""
        hashi, d = self.hashi, self.d
        await self.at(6)
        self.say("alert")
        await self.at(9)
        self.say("declare")
        await d.command("", user_id=CAROL, channel_id=GENERAL)
        opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="the modal")
        await d.submit(
            user_id=CAROL,
            view=dict(opened[-1].response["view"]),
            values={
                Block.TITLE: {Field.TITLE: input_value(self.words("title"))},
                Block.SEVERITY: {Field.SEVERITY: select_value("SEV2")},
                Block.SERVICES: {Field.SERVICES: input_value(SERVICES)},
                Block.SUMMARY: {Field.SUMMARY: input_value(self.words("summary"))},
                Block.PRIVATE: {Field.PRIVATE: checkboxes_value([])},
                Block.DETECTED: {Field.DETECTED: input_value("3m ago")},
            },
        )
        room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
        await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
        self.say("declared", channel=hashi.standin.channels[room].name)

        await self.at(11)
        self.say("ack")
        await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.ACK)
        await self.at(12)
        self.say("lead")
        await self.command(f"lead <@{BOB}|bob>", user=CAROL, room=room)
        await d.event(
            {
                "type": "member_joined_channel",
                "user": ALICE,
                "channel": room,
                "channel_type": "C",
                "team": d.team_id,
                "inviter": CAROL,
                "event_ts": f"{self.clock.now().timestamp():.6f}",
            }
        )
        await self.at(14)
        self.say("impact", ago="14m")
        await self.command("impact start 14m ago", user=BOB, room=room)
        await self.at(15)
        await self.tick(room, user=BOB, key="assign-lead", who="Bob")

        await self.at(18)
        self.say("note", who="Carol", text=self.words("customer_update"))
        await self.command(f"note {self.words('customer_update')}", user=CAROL, room=room)
        await self.tick(room, user=CAROL, key="first-customer-update", who="Carol")

        await self.at(21)
        self.say("finding")
        finding = hashi.standin.add_message(room, user=BOB, text=self.words("finding"))
        pin = {
            "type": "pin_added",
            "user": CAROL,
            "channel_id": room,
            "item": {
                "type": "message",
                "channel": room,
                "message": finding,
                "created": int(self.clock.now().timestamp()),
                "created_by": CAROL,
            },
            "event_ts": finding["ts"],
        }
        await d.event(pin, event_id="EvDEMOPIN1")
        await d.event(pin, event_id="EvDEMOPIN1", retry=1)

        await self.at(24)
        self.say("identified", text=self.words("identified"))
        await self.command(f"status identified {self.words('identified')}", user=BOB, room=room)
        await self.at(26)
        self.say("note", who="Bob", text=self.words("rollback"))
        await self.command(f"note {self.words('rollback')}", user=BOB, room=room)

        await self.at(32)
        self.say("impact_end", ago="2m")
        await self.command("impact end 2m ago", user=BOB, room=room)
        self.say("monitoring")
        await d.click(
            user_id=BOB,
            channel_id=room,
            message=hashi.card(room),
            action_id=Action.STATUS,
            value="monitoring",
        )
        await self.at(36)
        self.say("followup", text=self.words("followup"))
        await self.command(f"followup {self.words('followup')} <@{BOB}|bob>", user=ALICE, room=room)

        await self.at(42)
        self.say("note", who="Bob", text=self.words("recovered"))
        await self.command(f"note {self.words('recovered')}", user=BOB, room=room)
        await self.tick(room, user=BOB, key="verify-recovery", who="Bob")

        await self.at(44)
        self.say("resolve")
        before = len(hashi.standin.calls_to("views.open"))
        await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE)
        opened = await hashi.eventually(
            lambda: hashi.standin.calls_to("views.open")[before:], what="the resolve modal"
        )
        await d.submit(
            user_id=BOB,
            view=dict(opened[-1].response["view"]),
            values={
                Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value(self.words("resolution"))},
                Block.RESOLVE_AT: {Field.RESOLVE_AT: input_value("")},
            },
        )
        await hashi.eventually(
            lambda: Action.REOPEN in json.dumps(hashi.card(room)), what="the resolved card (it offers Reopen)"
        )
        await hashi.settle()
        incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
        assert incident_id is not None
        return int(incident_id)


def japanese_playbooks(folder: Path) -> Path:
    """A playbook folder for a Japanese-speaking team, made as sev-ja.yaml's header says: the shipped Japanese
    major-incident playbook alone, applying to every SEV1/SEV2 rather than only to incidents of type `ja`."""
    document = yaml.safe_load((shipped_playbooks_dir() / JAPANESE_PLAYBOOK).read_text(encoding="utf-8"))
    document.get("applies_to", {}).pop("types", None)
    (folder / JAPANESE_PLAYBOOK).write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return folder


def start_over(database: Path) -> None:
    """Removes the demo's database (and SQLite's side files) for `--fresh`."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def _tell(key: str, lang: Lang, **params: object) -> None:
    print(t(f"demo.{key}", lang, **params), file=sys.stderr)


async def run_demo(
    *,
    write: Callable[[str], None],
    database: Path,
    lang: Lang = DEFAULT_LANG,
    fresh: bool = False,
    timezone: str = "UTC",
    web: bool = False,
) -> int:
    """Runs the scripted incident in a workspace speaking `lang`, writes its postmortem draft (`write`: to
    stdout), and keeps the SQLite database at `database` (its folder exists), saying how to explore it.
    `web`: then writes the address of the incident's page on the web dashboard and serves it until
    interrupted (sign in there as any of the stand-in's people)."""
    from bot.incidents.ports import SystemClock
    from bot.reports.postmortem import render_postmortem

    if fresh:
        start_over(database)
    url = f"sqlite:///{database}"
    shown_zone = JAPANESE_ZONE if lang == "ja" else timezone
    tz = zone(shown_zone)
    # Every call is checked against Slack's spec: the committed facts table, or HASHI_SLACK_SPEC's file.
    spec = ApiSpec.load(find_spec_path())
    clock = StoryClock(start=datetime.now(UTC) - timedelta(minutes=STORY_MINUTES))
    with tempfile.TemporaryDirectory() as folder:
        playbooks = str(japanese_playbooks(Path(folder))) if lang == "ja" else None
        async with running_hashi(
            database_url=url,
            spec=spec,
            team=TeamConfig(language=lang),
            timezone=shown_zone,
            playbooks_dir=playbooks,
            clock=clock,
            sign_in=web,
        ) as hashi:
            story = _Story(hashi, clock, lang=lang, tz=tz)
            story.say("running_checked", minutes=STORY_MINUTES)
            incident_id = await story.run()
            snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
            calls = len(hashi.standin.calls)
            rejected = len(hashi.standin.rejections)
            names = {u.id: u.real_name for u in hashi.standin.users.values()}
            if web:
                write(
                    render_postmortem(snap, tz=tz, generated_at=SystemClock().now(), names=names, lang=lang)
                )
                write(f"\n{hashi.base}/incidents/{incident_id}\n")
                _tell("web", lang)
                await asyncio.Event().wait()  # until interrupted (Ctrl-C)
    write(render_postmortem(snap, tz=tz, generated_at=SystemClock().now(), names=names, lang=lang) + "\n")
    _tell("calls", lang, calls=calls, rejected=rejected)
    _tell("kept", lang, path=database)
    options = f" --lang ja --tz {JAPANESE_ZONE}" if lang == "ja" else ""
    print(f"  export HASHI_DATABASE_URL={url}", file=sys.stderr)
    for command, key in (
        (f"hashi export {incident_id}{options}", "explore_export"),
        ("hashi stats" + (" --lang ja" if lang == "ja" else ""), "explore_stats"),
        ("hashi demo --fresh" + (" --lang ja" if lang == "ja" else ""), "explore_fresh"),
    ):
        print(f"  {command:<40} # {t(f'demo.{key}', lang)}", file=sys.stderr)
    return 0 if rejected == 0 else 1
