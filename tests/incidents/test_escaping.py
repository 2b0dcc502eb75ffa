"""Untrusted text: Slack mrkdwn, Markdown (checked by rendering it), channel names, excerpts."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.incidents.escaping import (
    channel_slug,
    escape_github,
    escape_markdown,
    escape_markdown_cell,
    escape_markdown_heading,
    escape_mrkdwn,
    markdown_link,
    plain_excerpt,
    without_invisible,
)

COMMONMARK = MarkdownIt("commonmark")
# What GitHub adds to CommonMark that matters here: tables and strikethrough.
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])


class TestMrkdwn:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("<!channel> wake up", "&lt;!channel&gt; wake up"),
            ("<!here>", "&lt;!here&gt;"),
            ("<!everyone>", "&lt;!everyone&gt;"),
            ("ping <@U123>", "ping &lt;@U123&gt;"),
            (
                "<http://evil.example|https://bank.example>",
                "&lt;http://evil.example|https://bank.example&gt;",
            ),
            ("AT&T", "AT&amp;T"),
            ("a < b > c", "a &lt; b &gt; c"),
            ("*bold* _it_ `code`", "*bold* _it_ `code`"),
            ("決済APIが落ちた 🔥", "決済APIが落ちた 🔥"),
            ("", ""),
        ],
    )
    def test_escapes_control_characters(self, text: str, expected: str) -> None:
        assert escape_mrkdwn(text) == expected

    def test_already_escaped_smuggling_stays_text(self) -> None:
        # Someone types the entities themselves, hoping a later decode turns them into a live <!channel>.
        assert escape_mrkdwn("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"

    def test_keep_mentions_keeps_people_and_channels_only(self) -> None:
        text = "paged <@U123|bob> in <#C9|ops>, <!channel> <http://x|y> & <@W7>"
        assert escape_mrkdwn(text, keep_mentions=True) == (
            "paged <@U123|bob> in <#C9|ops>, &lt;!channel&gt; &lt;http://x|y&gt; &amp; <@W7>"
        )

    def test_keep_mentions_escapes_inside_labels(self) -> None:
        assert escape_mrkdwn("<@U1|a&b>", keep_mentions=True) == "<@U1|a&amp;b>"

    @given(st.text())
    def test_never_leaves_angle_brackets(self, text: str) -> None:
        escaped = escape_mrkdwn(text)
        assert "<" not in escaped
        assert ">" not in escaped

    @given(st.text())
    def test_unescapes_to_the_same_text(self, text: str) -> None:
        escaped = escape_mrkdwn(text)
        decoded = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert decoded == without_invisible(text)

    @given(st.text())
    def test_keep_mentions_allows_only_mentions(self, text: str) -> None:
        escaped = escape_mrkdwn(text, keep_mentions=True)
        outside = re.sub(r"<(?:@[UW]|#[CG])[A-Z0-9]+(?:\|[^<>|]*)?>", "", escaped)
        assert "<" not in outside
        assert ">" not in outside
        assert "<!" not in escaped


def visible_text(rendered: str) -> str:
    """The text a reader sees in rendered HTML (tags dropped, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", rendered)).split())


def assert_one_plain_paragraph(markdown: str, expected_text: str) -> None:
    """The Markdown renders as a single paragraph of plain text that reads `expected_text`."""
    for renderer in (COMMONMARK, GFM):
        rendered = renderer.render(markdown)
        if not " ".join(expected_text.split()):
            assert rendered.strip() in ("", "<p></p>")
            continue
        assert rendered.startswith("<p>"), rendered
        assert rendered.endswith("</p>\n"), rendered
        inner = rendered[3:-5]
        assert "<" not in inner, rendered
        assert visible_text(rendered) == " ".join(expected_text.split())


HOSTILE = [
    "# Heading",
    "## h2",
    "   # indented heading",
    "Title\n===",
    "Title\n---",
    "---",
    "***",
    "___",
    "- item",
    "+ item",
    "* item",
    "1. item",
    "1) item",
    "2026. what a year",
    "> quote",
    "    indented code",
    "\tcode",
    "```\ncode\n```",
    "~~~\ncode",
    "`code`",
    "``code``",
    "*emphasis*",
    "**strong**",
    "_emphasis_",
    "__strong__",
    "a*b*c",
    "snake_case_name and _x_",
    "~~struck~~",
    "~one~",
    "[link](http://evil.example)",
    "[ref]\n\n[ref]: http://evil.example",
    "![img](http://evil.example/x.png)",
    "<http://evil.example>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<!-- comment -->",
    "<div>\nblock\n</div>",
    "&lt;script&gt;",
    "&copy; &#169; &#x41;",
    "| a | b |\n|---|---|\n| c | d |",
    "a | b",
    "line one  \nline two",
    "backslash at end\\",
    "\\*not emphasis\\*",
    "foo\\\nbar",
    "[^1]\n\n[^1]: footnote",
    "决済APIが落ちた 🔥 *重要*",
    "🔥🔥 <@U123> <!channel>",
    "",
    "   ",
    "\n\n\n",
    "text\n\n# second block",
    "= setext?",
    "+",
    "-",
    "#",
    "1.",
    "foo_",
    "_foo",
    "a_ b",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_markdown_renders_as_one_plain_paragraph(text: str) -> None:
    escaped = escape_markdown(text)
    assert "\n" not in escaped
    assert_one_plain_paragraph(escaped, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_markdown_after_a_list_marker_stays_one_item(text: str) -> None:
    rendered = COMMONMARK.render(f"- {escape_markdown(text)}\n")
    assert rendered.count("<li>") == 1
    for tag in ("<h", "<a", "<img", "<script", "<table", "<code", "<em", "<strong", "<blockquote", "<ol"):
        assert tag not in rendered, rendered


@pytest.mark.parametrize("text", [*HOSTILE, "Broken #", "Broken ##", "Broken # ", "#", "C#", "a # b", "\\#"])
def test_escaped_heading_text_shows_as_typed(text: str) -> None:
    """A title in an ATX heading keeps every character: a closing `#` run at its end is escaped too."""
    for renderer in (COMMONMARK, GFM):
        rendered = renderer.render(f"# INC-1: {escape_markdown_heading(text)}\n")
        assert rendered.startswith("<h1>") and rendered.endswith("</h1>\n"), rendered
        assert "<" not in rendered[4:-6], rendered
        assert visible_text(rendered) == " ".join(f"INC-1: {text}".split())


def test_escaped_heading_text_changes_only_a_closing_run() -> None:
    assert escape_markdown_heading("Checkout down") == escape_markdown("Checkout down")
    assert escape_markdown_heading("C# build") == escape_markdown("C# build")
    assert escape_markdown_heading("Broken #") == "Broken \\#"


def test_escaped_markdown_keeps_readable_words() -> None:
    assert (
        escape_markdown("db_primary_1 is down (again) at 14:05!") == "db_primary_1 is down (again) at 14:05!"
    )
    assert escape_markdown("決済 API 🔥") == "決済 API 🔥"


def test_escaped_markdown_collapses_lines() -> None:
    assert escape_markdown("first\nsecond\r\nthird") == "first second third"


def test_escape_markdown_cell_escapes_pipes() -> None:
    cell = escape_markdown_cell("a | b\nc")
    table = f"| text |\n|---|\n| {cell} |\n"
    rendered = GFM.render(table)
    assert rendered.count("<td>") == 1
    assert "<td>a | b c</td>" in rendered


@given(st.text())
def test_escaped_markdown_is_always_one_plain_paragraph(text: str) -> None:
    # What is dropped on purpose: control characters, and the ones that reorder or hide text (tested above).
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs") or c.isspace())
    expected = without_invisible(kept)
    escaped = escape_markdown(text)
    if not escaped:
        return
    for renderer in (COMMONMARK, GFM):
        rendered = renderer.render(escaped)
        assert rendered.startswith("<p>"), rendered
        assert rendered.endswith("</p>\n"), rendered
        assert "<" not in rendered[3:-5], rendered
    assert visible_text(COMMONMARK.render(escaped)) == visible_text(html.escape(expected))


@given(st.text(alphabet="#*_-+=>`~[]()!|<&\\ 1.)aé日\n\t", max_size=40))
def test_escaped_markdown_syntax_soup_is_plain(text: str) -> None:
    escaped = escape_markdown(text)
    if escaped:
        assert_one_plain_paragraph(escaped, text)


class TestChannelSlug:
    @pytest.mark.parametrize(
        ("title", "expected"),
        [
            ("Checkout API is down", "checkout-api-is-down"),
            ("  Payments: 500 errors!!  ", "payments-500-errors"),
            ("db_primary_1 slow", "db_primary_1-slow"),
            ("v1.2.3 rollout", "v1-2-3-rollout"),
            ("決済APIが落ちた", "決済apiが落ちた"),
            ("ＡＰＩ　障害", "api-障害"),
            ("ｶﾀｶﾅ ﾃｽﾄ", "カタカナ-テスト"),
            ("サーバー・ダウン", "サーバー-ダウン"),
            ("결제 장애", "결제-장애"),
            ("支付系统故障", "支付系统故障"),
            ("Café résumé", "cafe-resume"),
            ("🔥 fire 🔥", "fire"),
            ("<!channel>", "channel"),
            ("---", ""),
            ("", ""),
            ("🔥", ""),
        ],
    )
    def test_slugs(self, title: str, expected: str) -> None:
        assert channel_slug(title, max_len=80) == expected

    def test_truncates_without_a_trailing_dash(self) -> None:
        assert channel_slug("abc def ghi", max_len=4) == "abc"
        assert channel_slug("abc def ghi", max_len=5) == "abc-d"
        assert channel_slug("anything", max_len=0) == ""

    @given(st.text(), st.integers(min_value=0, max_value=80))
    def test_always_a_valid_channel_fragment(self, title: str, max_len: int) -> None:
        slug = channel_slug(title, max_len=max_len)
        assert len(slug) <= max_len
        assert not slug.startswith("-")
        assert not slug.endswith("-")
        assert "--" not in slug
        assert slug == slug.lower()
        assert not any(c.isspace() or c == "." for c in slug)
        assert all(c.isalnum() or c in "-_" for c in slug)


class TestPlainExcerpt:
    def test_short_text_is_kept_on_one_line(self) -> None:
        assert plain_excerpt("first line\nsecond\tline", 250) == "first line second line"

    def test_long_text_is_cut_with_an_ellipsis(self) -> None:
        assert plain_excerpt("abcdefghij", 5) == "abcd…"
        assert plain_excerpt("abc defghij", 5) == "abc…"
        assert plain_excerpt("abcdefghij", 10) == "abcdefghij"

    def test_never_cuts_through_an_entity(self) -> None:
        assert plain_excerpt(escape_mrkdwn("a <b> c"), 6) == "a…"
        assert plain_excerpt(escape_mrkdwn("AT&T rocks"), 5) == "AT…"

    def test_japanese_and_emoji(self) -> None:
        assert plain_excerpt("決済APIが落ちた🔥🔥🔥", 8) == "決済APIが落…"

    def test_empty_limits(self) -> None:
        assert plain_excerpt("text", 0) == ""
        assert plain_excerpt("text", 1) == "…"
        assert plain_excerpt("", 10) == ""

    @given(st.text(), st.integers(min_value=0, max_value=300))
    def test_fits_and_is_one_line(self, text: str, limit: int) -> None:
        excerpt = plain_excerpt(text, limit)
        assert len(excerpt) <= limit
        assert "\n" not in excerpt
        assert "\r" not in excerpt


# Characters that reorder or hide text: every one the escapes must drop.
INVISIBLE = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # LRE RLE PDF LRO RLO
    *(chr(c) for c in range(0x2066, 0x206A)),  # LRI RLI FSI PDI
    "\u200b",  # zero-width space
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\u2060",  # word joiner
    "\u2062",  # invisible times
    "\ufeff",  # byte-order mark
    "\u180e",  # Mongolian vowel separator
]
ESCAPES = {
    "mrkdwn": escape_mrkdwn,
    "mrkdwn-mentions": lambda text: escape_mrkdwn(text, keep_mentions=True),
    "markdown": escape_markdown,
    "markdown-heading": escape_markdown_heading,
    "markdown-cell": escape_markdown_cell,
    "excerpt": lambda text: plain_excerpt(text, 200),
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_every_escape_drops_what_reorders_or_hides_text(name: str, char: str) -> None:
    escaped = ESCAPES[name](f"{char}Invoice{char} gpj.exe{char}")
    assert char not in escaped
    assert "Invoice gpj.exe" in escaped.replace("\\", "")


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_joiners_stay_only_where_they_join(name: str) -> None:
    escape = ESCAPES[name]
    assert escape("on call 👩\u200d💻") == escape("on call 👩") + "\u200d💻"  # one emoji
    assert "\u200c" in escape("می\u200cخواهم")  # Persian: the non-joiner shapes the word
    assert "\u200d" not in escape("ad\u200dmin") and "\u200c" not in escape("\u200cadmin\u200c")


@given(st.text())
def test_without_invisible_leaves_no_bidi_control(text: str) -> None:
    cleaned = without_invisible(text)
    assert not any(
        unicodedata.bidirectional(c) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")
        for c in cleaned
    )
    assert without_invisible(cleaned) == cleaned


@pytest.mark.parametrize(
    "text", [*HOSTILE, "@octocat please", "see #12 and acme/ops#3", "@@double", "mail a@b.c"]
)
def test_github_text_renders_as_typed_and_never_mentions_or_links(text: str) -> None:
    """GitHub links `@name` and `#12` in text: a zero-width space after each stops it; words read the same."""
    escaped = escape_github(text)
    assert "\n" not in escaped
    assert not re.search(r"[@#][\w-]", html.unescape(escaped)), escaped
    rendered = COMMONMARK.render(escaped)
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u200b", "").strip() == _inline_text(text)


def _inline_text(text: str) -> str:
    """The text as escape_markdown shows it: one line, invisible and control characters dropped."""
    return html.unescape(re.sub(r"<[^>]+>", "", COMMONMARK.render(escape_markdown(text)))).strip()


@pytest.mark.parametrize(
    ("label", "url", "rendered_href"),
    [
        ("OPS-1", "https://acme.atlassian.net/browse/OPS-1", "https://acme.atlassian.net/browse/OPS-1"),
        ("12", "https://github.com/acme/ops/issues/12", "https://github.com/acme/ops/issues/12"),
        ("x", "https://e.example/a)b|c[d]", "https://e.example/a%29b%7Cc%5Bd%5D"),
    ],
)
def test_markdown_links_stay_one_link_in_a_table_cell(label: str, url: str, rendered_href: str) -> None:
    cell = markdown_link(label, url)
    rendered = GFM.render(f"| a | b |\n|---|---|\n| {cell} | z |\n")
    assert rendered.count("<td>") == 2 and f'href="{rendered_href}"' in rendered


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "https://a b", "ftp://x"])
def test_markdown_links_to_anything_but_http_are_just_text(url: str) -> None:
    assert markdown_link("OPS-1", url) == "OPS-1"
