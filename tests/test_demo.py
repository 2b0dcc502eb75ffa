"""`hashi demo` as a new user runs it (its entry point, in this process: see tests/test_cli.py), its
postmortem read for one language, one coherent story over three quarters of an hour, and a database left
behind that the other commands read."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.i18n import catalogue
from bot.incidents.model import Milestone
from bot.settings import shipped_playbooks_dir
from tests.test_cli import Result, assert_one_line_error, hashi

# Kana, kanji and full-width forms: none belong in the English demo (but 橋, the product's name).
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
RAW_CHANNEL_ID = re.compile(r"\b[CGD][A-Z0-9]{8,}\b")
# The milestones of the story, in lifecycle order (it is not closed; its impact ends before it is mitigated).
MILESTONES = tuple(m.value for m in Milestone if m not in (Milestone.CLOSED, Milestone.IMPACT_ENDED))


async def demo(*args: str, cwd: Path, tz: str = "UTC") -> Result:
    """`hashi demo ARGS` with the user's data folder in `cwd` (its calls checked against the facts table
    of Slack's spec that the repository carries)."""
    env = {"XDG_DATA_HOME": str(cwd / "data")}
    return await hashi("demo", *args, cwd=cwd, tz=tz, env=env)


def section(markdown: str, heading: str) -> str:
    """The text under a `## heading` up to the next one."""
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert found, f"no section {heading!r}"
    return found.group(1)


def metric_rows(markdown: str, heading: str) -> dict[str, str]:
    """The recovery-metrics table of the impact section: metric → duration."""
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| [^|]+ \| [^|]+ \|$", section(markdown, heading), re.M)
    return dict(rows[1:])  # past the header (the rule under it has no spaces)


def gantt_bars(markdown: str) -> list[tuple[str, datetime, datetime]]:
    """The Gantt chart's bars: name, start, end."""
    bars = re.findall(r"^\s+(.+?) :(?:crit, )?(\S+ \S+), (\S+ \S+)$", markdown, re.M)
    return [(name, datetime.fromisoformat(a), datetime.fromisoformat(b)) for name, a, b in bars]


def explore_commands(said: str) -> tuple[str, list[str]]:
    """The database URL and the commands the demo says to run next."""
    url = re.search(r"export HASHI_DATABASE_URL=(\S+)", said)
    assert url, said
    return url.group(1), re.findall(r"^\s+(hashi [^#\n]+?)\s+#", said, re.M)


def assert_a_coherent_story(result: Result, *, impact_heading: str) -> None:
    """Every metric non-zero, every bar of the chart wider than nothing, no raw channel id."""
    assert result.code == 0, result
    metrics = metric_rows(result.out, impact_heading)
    assert len(metrics) == 5, metrics
    for name, duration in metrics.items():
        assert re.fullmatch(r"\d+(分|m)", duration) and not duration.startswith("0"), (name, duration)
    bars = gantt_bars(result.out)
    assert len(bars) == 7, bars
    for name, start, end in bars:
        assert end - start >= timedelta(minutes=1), (name, start, end)
    assert not RAW_CHANNEL_ID.search(result.out + result.err), result


def assert_english(told: Result) -> None:
    """English words, UTC times, the story's services and channel name, the button's acknowledgement."""
    assert_a_coherent_story(told, impact_heading="Impact")
    everything = told.out + told.err
    assert not JAPANESE.findall(everything.replace("橋", "")), JAPANESE.findall(everything)
    assert "Times in UTC." in told.out and "JST" not in everything
    assert "- **Services:** payments-api, checkout" in told.out
    assert "- **Slack channel:** #inc-1-payments-api-errors" in told.out
    assert "Bob Jones: Acknowledged" in told.out  # by the card's button, its own marker
    assert "» " in told.err and "0 rejected by the stand-in" in told.err


def assert_japanese(told: Result) -> None:
    """Japanese words and Tokyo times, the shipped Japanese playbook, Japanese narration."""
    assert_a_coherent_story(told, impact_heading="影響")
    assert "時刻は Asia/Tokyo、括弧内は UTC です。" in told.out and " JST（" in told.out
    # Hashi's own words are the Japanese catalogue's; none of the English postmortem's headings or hints.
    english = catalogue("en")
    for key in ("postmortem.heading.summary", "postmortem.heading.timeline", "postmortem.ask.timeline"):
        assert english[key] not in told.out, key
    # The story's people say Japanese things, and the checklist is the shipped Japanese playbook's.
    assert "# INC-1: 決済APIのエラー率上昇" in told.out and "- sev-ja（" in told.out
    major = yaml.safe_load((shipped_playbooks_dir() / "major-incident.yaml").read_text(encoding="utf-8"))
    for item in major["items"]:
        assert item["title"] not in told.out, item["title"]
    # What it says while it runs is Japanese too: every narrated line has Japanese in it.
    narrated = [line for line in told.err.splitlines() if line.startswith("  » ")]
    assert narrated and all(JAPANESE.search(line) for line in narrated), narrated
    _, commands = explore_commands(told.err)
    assert commands[0] == "hashi export 1 --lang ja --tz Asia/Tokyo", told.err


@pytest.mark.slow
async def test_the_demo_tells_one_story_in_english_and_keeps_its_database(tmp_path: Path) -> None:
    english, unwritable = await asyncio.gather(
        demo(cwd=tmp_path), demo("--db", "/proc/no-such-folder/demo.db", cwd=tmp_path)
    )
    assert_one_line_error(unwritable, 2, "/proc/no-such-folder/demo.db", "give --db a writable path")
    assert_english(english)

    # The database stays under the user's data folder, and the commands it prints work on it.
    kept = tmp_path / "data" / "hashi" / "demo.db"
    assert kept.is_file() and str(kept) in english.err
    url, commands = explore_commands(english.err)
    assert url == f"sqlite:///{kept}"
    assert commands == ["hashi export 1", "hashi stats", "hashi demo --fresh"], english.err
    exported, stats = await asyncio.gather(
        hashi("export", "1", "--format", "json", cwd=tmp_path, url=url),
        hashi("stats", "--format", "json", cwd=tmp_path, url=url),
    )
    assert exported.code == 0 and stats.code == 0, (exported, stats)
    record = json.loads(exported.out)
    times = [datetime.fromisoformat(record["milestones"][m]) for m in MILESTONES]
    assert times == sorted(times) and len(set(times)) == len(times), dict(zip(MILESTONES, times, strict=True))
    assert timedelta(minutes=40) <= times[-1] - times[0] <= timedelta(minutes=50)
    assert record["services"] == ["payments-api", "checkout"]
    declared = times[MILESTONES.index("declared_at")]
    changes = [e for e in record["timeline"] if e["kind"] in ("status", "acknowledged", "resolved")]
    assert changes and all(datetime.fromisoformat(e["at"]) > declared for e in changes), changes
    assert json.loads(stats.out)["count"] == 1, stats.out

    # Run again: another incident in the same database.
    again = await demo(cwd=tmp_path)
    assert again.code == 0 and "hashi export 2" in again.err, again


@pytest.mark.slow
async def test_the_demo_tells_one_story_in_japanese_and_keeps_its_database_where_told(tmp_path: Path) -> None:
    japanese_db = tmp_path / "elsewhere" / "ja.db"
    japanese = await demo("--lang", "ja", "--db", str(japanese_db), cwd=tmp_path)
    assert_japanese(japanese)
    assert japanese_db.is_file() and str(japanese_db) in japanese.err

    # Run again with --fresh: it starts over.
    fresh = await demo("--lang", "ja", "--db", str(japanese_db), "--fresh", cwd=tmp_path)
    assert fresh.code == 0 and "hashi export 1 " in fresh.err, fresh
    counted = await hashi("stats", "--format", "json", cwd=tmp_path, url=f"sqlite:///{japanese_db}")
    assert json.loads(counted.out)["count"] == 1, counted.out
