"""The postmortem draft: golden files, CommonMark structure, escaping, refreshing around human edits."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.i18n import Lang
from bot.incidents.model import FollowupView, IncidentSnapshot, Milestones, Status
from bot.reports.postmortem import (
    lessons_headings,
    render_postmortem,
    section_headings,
    shipped_template,
    template_problems,
)
from bot.reports.postmortem_markers import update_postmortem
from tests.reports import scripted
from tests.reports.scripted import event, utc

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HASHI_UPDATE_GOLDEN") == "1"
MARKER = re.compile(r"<!-- hashi:(begin|end) ([a-z][a-z0-9-]*) -->")
SECTIONS = (
    "title",
    "about",
    "date",
    "status",
    "summary",
    "impact",
    "resolution",
    "detection",
    "action-items",
    "timeline",
    "supporting",
)
JA_NAMES = {"U01": "山田 太郎", "U02": "佐藤 花子", "U03": "sato"}
NAMES = {"U10": "Ana", "U11": "Ben", "U12": "Chidi", "U20": "Dana", "U21": "Eli", "U30": "Fay"}


@dataclass(frozen=True)
class Case:
    """One scripted incident rendered the way `hashi export` would."""

    snap: Callable[[], IncidentSnapshot]
    tz: str
    generated_at: datetime
    names: dict[str, str]
    lang: Lang = "en"

    def render(self) -> str:
        return render_postmortem(
            self.snap(),
            tz=ZoneInfo(self.tz),
            generated_at=self.generated_at,
            names=self.names,
            lang=self.lang,
        )


CASES = {
    "japanese_tokyo": Case(scripted.japanese, "Asia/Tokyo", utc("2026-11-25 01:00"), JA_NAMES),
    # The same incident drafted in Japanese (`hashi export --lang ja`), and hostile text in Japanese.
    "japanese_tokyo_ja": Case(scripted.japanese, "Asia/Tokyo", utc("2026-11-25 01:00"), JA_NAMES, "ja"),
    "hostile_ja": Case(scripted.hostile, "UTC", utc("2026-11-24 10:00"), scripted.hostile_names(), "ja"),
    "midnight_two_days": Case(scripted.midnight, "Europe/Berlin", utc("2026-11-27 10:00"), NAMES),
    "reopened": Case(scripted.reopened, "America/New_York", utc("2026-11-24 15:00"), NAMES),
    "private": Case(scripted.private, "UTC", utc("2026-11-24 04:00"), NAMES),
    "hostile": Case(scripted.hostile, "UTC", utc("2026-11-24 10:00"), scripted.hostile_names()),
}


def parse(markdown: str) -> list[Token]:
    """CommonMark plus GFM tables, as GitHub reads the draft."""
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def headings(tokens: list[Token]) -> list[tuple[str, str]]:
    """(tag, text) of every heading, in order."""
    return [(tok.tag, tokens[i + 1].content) for i, tok in enumerate(tokens) if tok.type == "heading_open"]


def inline_types(tokens: list[Token]) -> Counter[str]:
    """How often each inline token type occurs."""
    return Counter(child.type for tok in tokens if tok.type == "inline" for child in tok.children or ())


def marked(markdown: str) -> dict[str, str]:
    """Each marked section's body by name."""
    found = re.finditer(r"<!-- hashi:begin ([a-z-]+) -->\n(.*?)<!-- hashi:end \1 -->", markdown, re.DOTALL)
    return {m[1]: m[2] for m in found}


def outside(markdown: str) -> str:
    """The draft with every marked body blanked: what people own."""
    return re.sub(
        r"(<!-- hashi:begin ([a-z-]+) -->\n).*?(<!-- hashi:end \2 -->)", r"\1\3", markdown, flags=re.DOTALL
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden_file(name: str) -> None:
    rendered = CASES[name].render()
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path} is missing; run with HASHI_UPDATE_GOLDEN=1 to write it, then review the diff")
    assert rendered == path.read_text(encoding="utf-8"), "run with HASHI_UPDATE_GOLDEN=1 and review the diff"


@pytest.mark.parametrize("name", sorted(CASES))
def test_is_deterministic(name: str) -> None:
    assert CASES[name].render() == CASES[name].render()


@pytest.mark.parametrize("name", sorted(CASES))
def test_sections_are_headings_in_the_sre_book_order(name: str) -> None:
    case = CASES[name]
    found = headings(parse(case.render()))
    assert found[0][0] == "h1"
    assert found[0][1].startswith(f"INC-{case.snap().id}: ")
    expected = []
    for section in section_headings(case.lang):
        expected.append(("h2", section))
        if section == section_headings(case.lang)[10]:  # Lessons Learned
            expected += [("h3", lesson) for lesson in lessons_headings(case.lang)]
    assert found[1:] == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_hashi_markers_are_html(name: str) -> None:
    tokens = parse(CASES[name].render())
    html = [tok.content.strip() for tok in tokens if tok.type == "html_block"]
    assert html and all(MARKER.fullmatch(block) for block in html)
    assert inline_types(tokens)["html_inline"] == 0
    assert [m[2] for m in MARKER.finditer(CASES[name].render()) if m[1] == "begin"] == list(SECTIONS)


def test_hostile_text_adds_no_structure() -> None:
    """Headings, links, HTML, tables, lists, code and quotes come only from Hashi, never from user text."""
    tame_payload = "plain words"
    case = CASES["hostile"]
    tame = render_postmortem(
        scripted.hostile(tame_payload),
        tz=ZoneInfo("UTC"),
        generated_at=case.generated_at,
        names=scripted.hostile_names(tame_payload),
    )
    hostile_tokens, tame_tokens = parse(case.render()), parse(tame)
    shape = [(tok.type, tok.tag, tok.level) for tok in hostile_tokens]
    assert shape == [(tok.type, tok.tag, tok.level) for tok in tame_tokens]
    for kind in ("link_open", "image", "html_inline"):
        assert inline_types(hostile_tokens)[kind] == inline_types(tame_tokens)[kind] == 0, kind
    assert inline_types(hostile_tokens)["code_inline"] == inline_types(tame_tokens)["code_inline"]
    fences = [tok for tok in hostile_tokens if tok.type == "fence"]
    assert [tok.info for tok in fences] == ["mermaid"]


def test_hostile_text_keeps_tables_intact() -> None:
    tokens = parse(CASES["hostile"].render())
    assert sum(tok.type == "table_open" for tok in tokens) == 2  # recovery metrics, action items
    rows: list[int] = []
    for tok in tokens:
        if tok.type == "tr_open":
            rows.append(0)
        elif tok.type in ("th_open", "td_open"):
            rows[-1] += 1
    assert rows == [4] * (6 + 3)  # header + 5 metrics, header + 2 follow-ups


def test_hostile_text_shows_as_typed() -> None:
    rendered = CASES["hostile"].render()
    text = "".join(
        child.content
        for tok in parse(rendered)
        if tok.type == "inline"
        for child in tok.children or ()
        if child.type == "text"
    )
    assert scripted.HOSTILE in text  # the title, unchanged for the reader
    assert "<script>" not in rendered and "<!channel>" not in rendered


def test_mermaid_labels_are_sanitised() -> None:
    fence = next(tok for tok in parse(CASES["hostile"].render()) if tok.type == "fence")
    assert "SEV1 crit heading link http x script alert 1 script" in fence.content
    for bad in ("`", ";", "%%", "-->", "<", "[", "#"):
        assert bad not in fence.content.split("section Severity")[1], bad


def test_a_title_ending_in_a_hash_keeps_it_in_the_heading() -> None:
    snap = replace(scripted.private(), title="Queue stuck on shard #")
    markdown = render_postmortem(snap, tz=ZoneInfo("UTC"), generated_at=utc("2026-11-24 04:00"), names=NAMES)
    heading = re.search(r"<h1>(.*)</h1>", MarkdownIt("commonmark").render(markdown))
    assert heading is not None and heading[1] == f"INC-{snap.id}: Queue stuck on shard #"


def test_japanese_names_and_zone() -> None:
    rendered = CASES["japanese_tokyo"].render()
    assert "# INC-42: 決済APIのエラー率が上昇" in rendered
    assert (
        "- 2026-11-24 14:25 JST (2026-11-24 05:25 UTC) — 山田 太郎: ロールバックを開始します @sato"
        in rendered
    )
    assert "| デプロイ前のカナリア検証を追加 | — | sato | — |" in rendered
    assert "  - [x] オンコールを呼び出す — 山田 太郎, 2026-11-24 14:08 JST (2026-11-24 05:08 UTC)" in rendered


def test_every_timeline_line_has_its_date_across_midnight() -> None:
    timeline = marked(CASES["midnight_two_days"].render())["timeline"]
    lines = [line for line in timeline.splitlines() if line.startswith("- ")]
    stamp = re.compile(r"- (\d{4}-\d\d-\d\d) \d\d:\d\d CET \((\d{4}-\d\d-\d\d) \d\d:\d\d UTC\) — ")
    dates = [stamp.match(line) for line in lines]
    assert all(dates), lines
    assert {d[1] for d in dates if d} == {"2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"}
    assert any(d and d[1] != d[2] for d in dates)  # 23:10 UTC is already tomorrow in Berlin
    times = [line[2:18] for line in lines]
    assert times == sorted(times)
    assert "2026-11-25 00:40 CET (2026-11-24 23:40 UTC) — **OUTAGE BEGINS**" not in timeline
    assert "- 2026-11-24 23:10 CET (2026-11-24 22:10 UTC) — **OUTAGE BEGINS**" in timeline
    assert "Paused the nightly vacuum job _(recorded 2026-11-25 03:00 CET)_" in timeline


def test_milestone_markers_sit_in_time_order_among_events() -> None:
    timeline = marked(CASES["midnight_two_days"].render())["timeline"]
    order = re.findall(r"\*\*([A-Z ]+)\*\*", timeline)
    assert order == ["OUTAGE BEGINS", "DETECTED", "MITIGATED", "OUTAGE ENDS", "RESOLVED"]
    lines = [line for line in timeline.splitlines() if line.startswith("- ")]
    assert (
        lines.index(next(line for line in lines if "**MITIGATED**" in line))
        == lines.index(next(line for line in lines if "replicas caught up" in line)) - 1
    )


def test_reopened_incident_shows_both_resolutions() -> None:
    rendered = CASES["reopened"].render()
    timeline = marked(rendered)["timeline"]
    assert "Dana: Resolved: restarted the session cache" in timeline
    assert "Eli: Reopened" in timeline
    assert "Dana: Resolved: raised the cache memory limit" in timeline
    assert timeline.count("**RESOLVED**") == 1  # the milestone is the last resolution
    assert "Reopened 1 time." in marked(rendered)["status"]
    resolution = marked(rendered)["resolution"]
    assert resolution.index("restarted") < resolution.index("Reopened") < resolution.index("raised")


def test_private_incident_says_so() -> None:
    rendered = CASES["private"].render()
    assert (
        "**Private incident.** Share this draft only with the incident's members."
        in marked(rendered)["about"]
    )
    assert "_not resolved yet_" in marked(rendered)["resolution"]
    assert "Open :active" in marked(rendered)["timeline"]


def test_public_incident_has_no_private_line() -> None:
    assert "Private incident" not in CASES["japanese_tokyo"].render()


def test_backdated_milestone_and_utc_zone_show_one_time() -> None:
    rendered = CASES["private"].render()
    assert "- 2026-11-24 03:00 UTC — **OUTAGE BEGINS**" in rendered
    assert "(2026-11-24 03:00 UTC)" not in rendered


def test_unknown_user_falls_back_to_the_id() -> None:
    snap = replace(scripted.reopened(), followups=(FollowupView("Add a cache alert", "U404", False),))
    rendered = render_postmortem(snap, tz=ZoneInfo("UTC"), generated_at=utc("2026-11-24 15:00"))
    assert "| Add a cache alert | — | U404 | — |" in rendered
    assert "Declared by: U20" in rendered


def test_bare_incident_renders_prompts() -> None:
    snap = IncidentSnapshot(
        id=1,
        title="",
        severity="SEV4",
        status=Status.INVESTIGATING,
        private=False,
        services=(),
        summary="",
        lead=None,
        declared_by=None,
        channel_id=None,
        milestones=Milestones(declared_at=utc("2026-11-24 05:00")),
    )
    rendered = render_postmortem(snap, tz=ZoneInfo("UTC"), generated_at=utc("2026-11-24 05:30"))
    assert "_No summary was recorded in Slack._" in rendered
    assert "_No follow-ups were recorded in Slack (`/incident followup <text>`)._" in rendered
    assert "Open :active, 2026-11-24 05:00:00, 2026-11-24 05:30:00" in rendered
    assert [h for _, h in headings(parse(rendered))][1:3] == ["Date", "Authors"]


# ---- update_postmortem -------------------------------------------------------------------------------


def _edited(draft: str) -> str:
    """A draft as a person leaves it: prose written outside markers, one Hashi section taken over."""
    edited = draft.replace(
        "_Why did it happen? Keep asking why until you reach causes you can fix. (Hashi cannot know.)_",
        "The retry loop had no backoff.\n\n* It hammered the cache  \n* trailing spaces stay",
    )
    edited = edited.replace("## Authors\n\n", "## Authors\n\nDana, Eli\n\n")
    # The person deleted the supporting section, markers and all, and wrote their own.
    start = edited.index("<!-- hashi:begin supporting -->")
    end = edited.index("<!-- hashi:end supporting -->") + len("<!-- hashi:end supporting -->")
    edited = edited[:start] + "Dashboards: see the wiki." + edited[end:]
    # Edits inside a marked section belong to Hashi and are replaced.
    edited = edited.replace("Incident **resolved**", "Incident **RESOLVED!!**")
    return edited + "\nA note at the very end, no newline"


def _changed(snap: IncidentSnapshot) -> IncidentSnapshot:
    return replace(
        snap,
        status=Status.CLOSED,
        milestones=replace(snap.milestones, closed_at=utc("2026-11-25 09:00")),
        timeline=(*snap.timeline, event("2026-11-25 09:00", "closed", "Closed", "U20")),
        followups=(*snap.followups, FollowupView("Load-test the session cache", "U21", False)),
    )


def test_update_replaces_only_marked_sections() -> None:
    tz, names = ZoneInfo("America/New_York"), NAMES
    first = render_postmortem(scripted.reopened(), tz=tz, generated_at=utc("2026-11-24 15:00"), names=names)
    edited = _edited(first)
    fresh = render_postmortem(
        _changed(scripted.reopened()), tz=tz, generated_at=utc("2026-11-25 10:00"), names=names
    )
    updated = update_postmortem(edited, fresh)

    assert outside(updated) == outside(edited)  # every human byte kept
    fresh_sections, updated_sections = marked(fresh), marked(updated)
    assert "supporting" not in updated_sections and "Dashboards: see the wiki." in updated
    assert updated_sections == {name: body for name, body in fresh_sections.items() if name != "supporting"}
    assert "Load-test the session cache" in updated_sections["action-items"]
    assert "Incident **closed**" in updated and "RESOLVED!!" not in updated
    assert "* It hammered the cache  \n* trailing spaces stay" in updated
    assert updated.endswith("\nA note at the very end, no newline")
    assert update_postmortem(updated, fresh) == updated  # refreshing twice changes nothing more


def test_update_of_an_untouched_draft_is_the_fresh_draft() -> None:
    old = CASES["midnight_two_days"].render()
    fresh = render_postmortem(
        _changed(scripted.midnight()),
        tz=ZoneInfo("Europe/Berlin"),
        generated_at=utc("2026-11-28 10:00"),
        names=NAMES,
    )
    assert update_postmortem(old, fresh) == fresh


def test_update_keeps_windows_line_endings() -> None:
    old = CASES["reopened"].render().replace("\n", "\r\n")
    fresh = render_postmortem(
        _changed(scripted.reopened()), tz=ZoneInfo("America/New_York"), generated_at=utc("2026-11-25 10:00")
    )
    updated = update_postmortem(old, fresh)
    assert "\n" not in updated.replace("\r\n", "")
    assert updated.replace("\r\n", "\n") == fresh


def test_hostile_text_cannot_forge_markers() -> None:
    rendered = CASES["hostile"].render()
    assert list(marked(rendered)) == list(SECTIONS)
    assert update_postmortem(rendered, rendered) == rendered


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("<!-- hashi:end timeline -->\n", "line 4: `hashi:end timeline` without a `hashi:begin timeline`"),
        ("<!-- hashi:begin notes -->\n", "line 6: `hashi:begin about` inside `notes`, which line 4 opened"),
        (
            "<!-- hashi:begin a -->\n<!-- hashi:end b -->\n",
            "line 5: `hashi:end b` closes `hashi:begin a` from line 4",
        ),
        ("<!-- hashi:begin a -->\n<!-- hashi:begin b -->\n", "line 5: `hashi:begin b` inside `a`"),
        (
            "<!-- hashi:begin Timeline-->\n",
            "line 4: '<!-- hashi:begin Timeline-->' looks like a Hashi marker",
        ),
        (
            "text <!-- hashi:end a --> text\n",
            "line 4: 'text <!-- hashi:end a --> text' looks like a Hashi marker",
        ),
        ("<!-- hashi:begin title -->\n<!-- hashi:end title -->\n", "line 4: a second `hashi:begin title`"),
    ],
)
def test_update_refuses_broken_markers(broken: str, message: str) -> None:
    draft = CASES["reopened"].render()
    lines = draft.splitlines(keepends=True)
    existing = "".join(lines[:3]) + broken + "".join(lines[3:])  # after the title block, at line 4
    with pytest.raises(ValueError, match=re.escape(message)):
        update_postmortem(existing, draft)


def test_update_refuses_a_begin_on_the_last_line() -> None:
    with pytest.raises(ValueError, match="never closed"):
        update_postmortem("text\n<!-- hashi:begin a -->", CASES["reopened"].render())


human_lines = st.lists(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<\r\n\x85\u2028\u2029"),
        max_size=30,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), human_lines), max_size=6))
def test_update_keeps_any_human_lines_outside_markers(insertions: list[tuple[int, list[str]]]) -> None:
    first = CASES["reopened"].render()
    lines = first.splitlines(keepends=True)
    inside, depth = set(), 0
    for number, line in enumerate(lines):
        if line.startswith("<!-- hashi:begin"):
            depth += 1
        if depth:
            inside.add(number + 1)  # inserting right after this line would land inside a section
        if line.startswith("<!-- hashi:end"):
            depth -= 1
    gaps = [n for n in range(len(lines) + 1) if n not in inside]
    for position, new in sorted(insertions, reverse=True):
        gap = gaps[position % len(gaps)]
        lines[gap:gap] = [text + "\n" for text in new]
    edited = "".join(lines)
    fresh = render_postmortem(
        _changed(scripted.reopened()), tz=ZoneInfo("America/New_York"), generated_at=utc("2026-11-25 10:00")
    )
    updated = update_postmortem(edited, fresh)
    assert outside(updated) == outside(edited)
    assert marked(updated) == marked(fresh)


def test_the_gantt_chart_keeps_durations_across_a_daylight_saving_night() -> None:
    # New York leaves daylight saving at 06:00Z on 2026-11-01: 01:59 EDT is followed by 01:00 EST.
    milestones = Milestones(
        impact_started_at=utc("2026-11-01 05:40"),
        detected_at=utc("2026-11-01 05:45"),
        declared_at=utc("2026-11-01 05:50"),
        acknowledged_at=utc("2026-11-01 05:55"),
        mitigated_at=utc("2026-11-01 06:05"),
        resolved_at=utc("2026-11-01 06:10"),
        impact_ended_at=utc("2026-11-01 06:05"),
    )
    snap = replace(scripted.midnight(), milestones=milestones)
    rendered = render_postmortem(snap, tz=ZoneInfo("America/New_York"), generated_at=utc("2026-11-02 10:00"))
    bars = re.findall(
        r":(?:\w+, )*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", rendered, re.M
    )
    assert bars
    spans = [datetime.fromisoformat(end) - datetime.fromisoformat(begin) for begin, end in bars]
    assert all(span.total_seconds() > 0 for span in spans), bars
    assert ("2026-11-01 01:40:00", "2026-11-01 02:05:00") in bars  # the outage: 25 minutes, from 01:40 EDT


def test_the_shipped_templates_are_the_default_layout_and_placeholders_expand_once() -> None:
    snap = scripted.reopened()
    when = utc("2026-11-24 15:00")
    for lang in ("en", "ja"):
        default = render_postmortem(snap, tz=ZoneInfo("Asia/Tokyo"), generated_at=when, lang=lang)
        shipped = shipped_template(lang)
        assert template_problems(shipped) == []
        assert (
            render_postmortem(snap, tz=ZoneInfo("Asia/Tokyo"), generated_at=when, lang=lang, template=shipped)
            == default
        )
    # People's words that look like placeholders stay as they are.
    tricky = replace(snap, summary="see {{timeline}} and {{ask.authors}}")
    summary_only = render_postmortem(tricky, tz=ZoneInfo("UTC"), generated_at=when, template="{{summary}}\n")
    assert "{{timeline}}" in summary_only.replace("\\", "") and "hashi:begin timeline" not in summary_only


def test_template_problems_name_the_line() -> None:
    problems = template_problems("# PM\n\n{{summary}}\n{{ title }}\n{{summary}}\n{{ask.nothing}}\n")
    assert problems[0].startswith("line 5: {{summary}} a second time")
    assert problems[1].startswith("line 6: unknown placeholder {{ask.nothing}}")
    with pytest.raises(ValueError, match="unknown placeholder"):
        render_postmortem(
            scripted.reopened(), tz=ZoneInfo("UTC"), generated_at=utc("2026-11-24 15:00"), template="{{x}}"
        )
