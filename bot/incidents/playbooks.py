"""Playbooks: response checklists kept as YAML files, loaded with file, line and reason for each problem."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor

from bot.incidents.times import TimeParseError, parse_duration

SUFFIXES = (".yaml", ".yml")
# Names and keys travel together in a checkbox option's value (at most 150 characters in Slack).
MAX_NAME = 64
MAX_KEY = 64
# Slack shows at most 75 characters of a checkbox option's text; longer titles are cut there when rendered.
SLACK_OPTION_TEXT = 75
MAX_TITLE = 150
MAX_DETAILS = 2000
MAX_DESCRIPTION = 3000
MAX_LINK = 2000
# A severity, service, type or role name.
MAX_LABEL = 128
# chat.scheduleMessage refuses times more than 120 days ahead, so no reminder may be due later than that.
MAX_AHEAD = timedelta(days=120)
MAX_FILE_BYTES = 1_000_000

PLAYBOOK_KEYS = ("name", "title", "description", "applies_to", "status_updates", "items")
ITEM_KEYS = ("key", "title", "details", "link", "role", "due", "when", "required")
APPLICABILITY_KEYS = ("severities", "services", "private", "types")

_SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*", re.ASCII)
_WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Applicability:
    """When a playbook (or one of its items) applies; an empty field places no condition."""

    severities: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    private: bool | None = None
    types: tuple[str, ...] = ()

    def matches(
        self, *, severity: str, services: Sequence[str], private: bool, types: Sequence[str] = ()
    ) -> bool:
        """True when an incident with these properties meets every condition (lists match on any overlap)."""
        if self.severities and severity.casefold() not in _folded(self.severities):
            return False
        if self.services and not _folded(self.services) & _folded(services):
            return False
        if self.private is not None and self.private != private:
            return False
        return not self.types or bool(_folded(self.types) & _folded(types))


@dataclass(frozen=True)
class PlaybookItem:
    """One checklist item; `line` is where it starts in its file."""

    key: str
    title: str
    details: str = ""
    link: str | None = None
    role: str | None = None
    due: timedelta | None = None
    when: Applicability | None = None
    required: bool = False
    line: int = 0


@dataclass(frozen=True)
class Playbook:
    """A named checklist with the incidents it applies to and the status-update cadence it asks for."""

    name: str
    title: str
    description: str = ""
    applies_to: Applicability = Applicability()
    # Minutes between status updates, by severity code.
    status_updates: dict[str, int] = field(default_factory=dict, hash=False)
    items: tuple[PlaybookItem, ...] = ()
    path: Path | None = None
    # The line of `name:` in its file.
    line: int = 0

    def items_for(
        self, *, severity: str, services: Sequence[str], private: bool, types: Sequence[str] = ()
    ) -> tuple[PlaybookItem, ...]:
        """The items whose `when` condition this incident meets, in file order."""
        return tuple(
            item
            for item in self.items
            if item.when is None
            or item.when.matches(severity=severity, services=services, private=private, types=types)
        )


@dataclass(frozen=True)
class PlaybookProblem:
    """A reason a playbook file cannot be used, at a line of that file (0 when no line applies)."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def load_playbooks(
    directory: Path, *, severities: Sequence[str], roles: Sequence[str]
) -> tuple[list[Playbook], list[PlaybookProblem]]:
    """Loads every `*.yaml`/`*.yml` file of a folder; a file with any problem is left out of the playbooks."""
    if not directory.is_dir():
        return [], [PlaybookProblem(directory, 0, "no such folder of playbooks")]
    files = sorted(
        p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
    )
    playbooks: list[Playbook] = []
    problems: list[PlaybookProblem] = []
    seen: dict[str, Playbook] = {}
    for path in files:
        playbook, found = load_playbook(path, severities=severities, roles=roles)
        problems.extend(found)
        if playbook is None:
            continue
        first = seen.get(playbook.name)
        if first is not None:
            where = f"{first.path.name if first.path else '?'}:{first.line}"
            message = f"name: {playbook.name!r} is already used by {where}; names must be unique"
            problems.append(PlaybookProblem(path, playbook.line, message))
            continue
        seen[playbook.name] = playbook
        playbooks.append(playbook)
    return playbooks, problems


def load_playbook(
    path: Path, *, severities: Sequence[str], roles: Sequence[str]
) -> tuple[Playbook | None, list[PlaybookProblem]]:
    """Reads and checks one playbook file; the playbook is None when the file has any problem."""
    reader = _Reader(path, severities=severities, roles=roles)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [PlaybookProblem(path, 0, f"cannot read the file: {exc.strerror or exc}")]
    if len(data) > MAX_FILE_BYTES:
        return None, [PlaybookProblem(path, 0, f"the file is larger than {MAX_FILE_BYTES:,} bytes")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [PlaybookProblem(path, line, "not UTF-8 text; save the file as UTF-8")]
    root = reader.compose(text)
    if root is None:
        return None, reader.problems
    playbook = reader.playbook(root)
    problems = sorted(reader.problems, key=lambda p: p.line)
    return (playbook if not problems else None), problems


def matching(
    playbooks: Iterable[Playbook],
    *,
    severity: str,
    services: Sequence[str],
    private: bool,
    types: Sequence[str] = (),
) -> list[Playbook]:
    """The playbooks that apply to an incident with these properties, in the order given."""
    return [
        p
        for p in playbooks
        if p.applies_to.matches(severity=severity, services=services, private=private, types=types)
    ]


def status_update_minutes(playbooks: Iterable[Playbook], severity: str) -> int | None:
    """The shortest status-update cadence the given (running) playbooks ask for at this severity."""
    wanted = [
        minutes
        for p in playbooks
        for code, minutes in p.status_updates.items()
        if code.casefold() == severity.casefold()
    ]
    return min(wanted, default=None)


def find_playbook(playbooks: Iterable[Playbook], name: str) -> Playbook | None:
    """The playbook of that name (any case), or None."""
    wanted = name.strip().casefold()
    return next((p for p in playbooks if p.name == wanted), None)


def slug(text: str) -> str:
    """`Assign an incident lead` → `assign-an-incident-lead` (ASCII; empty for text without ASCII letters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:MAX_KEY].rstrip("-")


def _folded(values: Iterable[str]) -> set[str]:
    """Values compared case-insensitively."""
    return {v.casefold() for v in values}


def _line(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def _kind(node: yaml.Node) -> str:
    """How a value reads to the author: `a list`, `the number 10`, `true/false`…"""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "empty"
    if node.tag == _BOOL:
        return f"true/false ({node.value})"
    if node.tag in (_INT, _FLOAT):
        return f"the number {node.value}"
    return f"the text {node.value!r}"


def _suggestion(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'title'?` for a near miss, else the valid choices."""
    by_folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {by_folded[close[0]]!r}?"
    return f" (expected one of: {', '.join(choices)})"


class _Reader:
    """Builds a playbook from YAML nodes, recording a problem (with its line) for each value it cannot use.

    Messages read `<where>: <reason>`, e.g. `item 2 due: …`, where `item 2` counts items from 1.
    """

    def __init__(self, path: Path, *, severities: Sequence[str], roles: Sequence[str]) -> None:
        self.path = path
        self.severities = {s.casefold(): s for s in severities}
        self.roles = {r.casefold(): r for r in roles}
        self.problems: list[PlaybookProblem] = []

    def problem(self, where: yaml.Node | int, message: str) -> None:
        """Records a problem at a node's line (or a given line)."""
        line = where if isinstance(where, int) else _line(where)
        self.problems.append(PlaybookProblem(self.path, line, message))

    def compose(self, text: str) -> yaml.Node | None:
        """The file's single YAML document as nodes (which keep their lines), or None after a problem."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if mark is None:
                self.problem(1, f"YAML syntax error: {exc.problem or exc}")
                return None
            reason = f"YAML syntax error at column {int(mark.column) + 1}: {exc.problem}"
            if exc.context:
                started = exc.context_mark
                reason += f", {exc.context}"
                if started is not None and int(started.line) != int(mark.line):
                    reason += f" that starts at line {int(started.line) + 1}"
            self.problem(int(mark.line) + 1, reason)
            return None
        except yaml.reader.ReaderError as exc:
            self.problem(text[: exc.position].count("\n") + 1, f"YAML syntax error: {exc.reason}")
            return None
        except yaml.YAMLError as exc:
            self.problem(1, f"YAML syntax error: {exc}")
            return None
        if root is None:
            self.problem(1, "the file is empty; a playbook needs name, title and items")
        return root

    def fields(
        self, node: yaml.Node, *, where: str, known: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """A mapping's entries by key, after checking for unknown, repeated and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{where}: must be a mapping of `key: value` lines, not {_kind(node)}")
            return None
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        # A missing key that a misspelt one was taken for is not reported twice.
        misspelt: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.problem(key_node, f"{where}: YAML merge keys (<<) are not supported; write the keys out")
                misspelt.update(required)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, f"{where}: a key must be a plain word, not {_kind(key_node)}")
                continue
            key = str(key_node.value)
            if key not in known:
                self.problem(key_node, f"{where}: unknown key {key!r}{_suggestion(key, known)}")
                misspelt.update(difflib.get_close_matches(key.casefold(), known, n=1, cutoff=0.6))
                continue
            if key in entries:
                first = _line(entries[key][0])
                self.problem(key_node, f"{where}: {key!r} is given twice (first at line {first}); keep one")
                continue
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries and key not in misspelt:
                self.problem(node, f"{where}: no {key!r} given")
        return entries

    def text(self, node: yaml.Node, *, where: str, limit: int, required: bool = False) -> str | None:
        """A trimmed text value within a length limit (an unquoted number or yes/no counts as its text)."""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{where}: must be text, not {_kind(node)}")
            return None
        value = "" if node.tag == _NULL else str(node.value).strip()
        if not value:
            if required:
                self.problem(node, f"{where}: is empty")
            return None
        if len(value) > limit:
            self.problem(node, f"{where}: is {len(value)} characters long; keep it to {limit}")
            return None
        return value

    def flag(self, node: yaml.Node, *, where: str) -> bool | None:
        """A true/false value."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return bool(SafeConstructor.bool_values[str(node.value).lower()])
        self.problem(node, f"{where}: must be true or false, not {_kind(node)}")
        return None

    def texts(self, node: yaml.Node, *, where: str) -> list[tuple[str, yaml.Node]] | None:
        """A non-empty list of text values, each with its node."""
        if not isinstance(node, yaml.SequenceNode):
            example = (
                f"[{node.value}]" if isinstance(node, yaml.ScalarNode) and node.tag != _NULL else "[a, b]"
            )
            self.problem(node, f"{where}: must be a list, e.g. {example}, not {_kind(node)}")
            return None
        if not node.value:
            self.problem(node, f"{where}: is an empty list; list at least one value or leave the key out")
            return None
        values: list[tuple[str, yaml.Node]] = []
        for element in node.value:
            value = self.text(element, where=where, limit=MAX_LABEL, required=True)
            if value is not None:
                values.append((value, element))
        return values if len(values) == len(node.value) else None

    def severity(self, node: yaml.Node, code: str, *, where: str) -> str | None:
        """A configured severity code in its configured spelling (`sev1` → `SEV1`)."""
        known = self.severities.get(code.casefold())
        if known is None:
            configured = ", ".join(self.severities.values())
            self.problem(node, f"{where}: unknown severity {code!r} (configured: {configured})")
        return known

    def applicability(self, node: yaml.Node, *, where: str) -> Applicability | None:
        """An `applies_to` or `when` condition."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return Applicability()
        entries = self.fields(node, where=where, known=APPLICABILITY_KEYS)
        if entries is None:
            return None
        before = len(self.problems)
        severities: list[str] = []
        if "severities" in entries:
            label = f"{where}.severities"
            for code, element in self.texts(entries["severities"][1], where=label) or ():
                known = self.severity(element, code, where=label)
                if known is not None and known not in severities:
                    severities.append(known)
        labels: dict[str, tuple[str, ...]] = {}
        for key in ("services", "types"):
            if key in entries:
                found = self.texts(entries[key][1], where=f"{where}.{key}") or ()
                labels[key] = tuple(dict.fromkeys(value for value, _ in found))
        private = None
        if "private" in entries:
            private = self.flag(entries["private"][1], where=f"{where}.private")
        if len(self.problems) > before:
            return None
        return Applicability(
            severities=tuple(severities),
            services=labels.get("services", ()),
            private=private,
            types=labels.get("types", ()),
        )

    def cadence(self, node: yaml.Node) -> dict[str, int]:
        """`status_updates`: minutes between updates, by severity."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                node, f"status_updates: must map severities to minutes, e.g. SEV1: 15, not {_kind(node)}"
            )
            return {}
        limit = int(MAX_AHEAD.total_seconds() // 60)
        cadence: dict[str, int] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, f"status_updates: a key must be a severity, not {_kind(key_node)}")
                continue
            code = self.severity(key_node, str(key_node.value), where="status_updates")
            if code is None:
                continue
            where = f"status_updates.{code}"
            if code in cadence:
                self.problem(key_node, f"status_updates: {code} is given twice; keep one")
            elif not (
                isinstance(value, yaml.ScalarNode)
                and value.tag == _INT
                and _WHOLE_NUMBER.fullmatch(value.value)
            ):
                self.problem(value, f"{where}: must be a whole number of minutes, not {_kind(value)}")
            elif not 1 <= int(value.value) <= limit:
                self.problem(value, f"{where}: must be between 1 and {limit} minutes")
            else:
                cadence[code] = int(value.value)
        return cadence

    def due(self, node: yaml.Node, *, where: str) -> timedelta | None:
        """An item's due time after declaration (`10m`, `1h30m`)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag in (_NULL, _BOOL):
            self.problem(node, f"{where}: must be a duration such as 10m or 1h30m, not {_kind(node)}")
            return None
        if node.tag in (_INT, _FLOAT):
            self.problem(node, f"{where}: {node.value} has no unit; write e.g. {node.value}m")
            return None
        try:
            due = parse_duration(str(node.value))
        except TimeParseError as exc:
            self.problem(node, f"{where}: bad duration: {exc}")
            return None
        if due > MAX_AHEAD:
            self.problem(
                node, f"{where}: {node.value} is too far ahead; Slack schedules reminders up to 120 days"
            )
            return None
        return due

    def role(self, node: yaml.Node, *, where: str) -> str | None:
        """A configured role, in its configured spelling."""
        name = self.text(node, where=where, limit=MAX_LABEL)
        if name is None:
            return None
        known = self.roles.get(name.casefold())
        if known is None:
            choices = list(self.roles.values())
            self.problem(node, f"{where}: unknown role {name!r}{_suggestion(name, choices)}")
        return known

    def item(self, node: yaml.Node, *, position: int) -> PlaybookItem | None:
        """One checklist item."""
        where = f"item {position}"
        entries = self.fields(node, where=where, known=ITEM_KEYS, required=("title",))
        if entries is None:
            return None
        before = len(self.problems)
        title = key = details = link = role = None
        if "title" in entries:
            title = self.text(entries["title"][1], where=f"{where} title", limit=MAX_TITLE, required=True)
        if "key" in entries:
            key_node = entries["key"][1]
            key = self.text(key_node, where=f"{where} key", limit=MAX_KEY, required=True)
            if key is not None and not _SLUG.fullmatch(key):
                self.problem(key_node, f"{where} key: {key!r} must be lowercase letters, digits and hyphens")
        elif title is not None and not slug(title):
            self.problem(
                entries["title"][1],
                f"{where}: add a `key:` (lowercase letters, digits, hyphens); this title gives none",
            )
        if "details" in entries:
            details = self.text(entries["details"][1], where=f"{where} details", limit=MAX_DETAILS)
        if "link" in entries:
            link = self.text(entries["link"][1], where=f"{where} link", limit=MAX_LINK)
            if link is not None and not link.startswith(("https://", "http://")):
                self.problem(entries["link"][1], f"{where} link: must start with https:// or http://")
        if "role" in entries:
            role = self.role(entries["role"][1], where=f"{where} role")
        due = self.due(entries["due"][1], where=f"{where} due") if "due" in entries else None
        when = None
        if "when" in entries:
            when = self.applicability(entries["when"][1], where=f"{where} when")
        required = None
        if "required" in entries:
            required = self.flag(entries["required"][1], where=f"{where} required")
        if len(self.problems) > before or title is None:
            return None
        return PlaybookItem(
            key=key or slug(title),
            title=title,
            details=details or "",
            link=link,
            role=role,
            due=due,
            when=when,
            required=bool(required),
            line=_line(node),
        )

    def items(self, node: yaml.Node) -> tuple[PlaybookItem, ...]:
        """The checklist: a non-empty list of items with distinct keys."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(
                node, f"items: must be a list of items (lines starting with '- '), not {_kind(node)}"
            )
            return ()
        if not node.value:
            self.problem(node, "items: is an empty list; a playbook needs at least one item")
            return ()
        items: list[PlaybookItem] = []
        first_line: dict[str, int] = {}
        for position, element in enumerate(node.value, start=1):
            item = self.item(element, position=position)
            if item is None:
                continue
            entries = {str(k.value): v for k, v in element.value if isinstance(k, yaml.ScalarNode)}
            at = entries.get("key", entries.get("title", element))
            if item.key in first_line:
                first = first_line[item.key]
                if "key" in entries:
                    reason = f"item {position} key: {item.key!r} is used twice (first at line {first})"
                else:
                    reason = (
                        f"item {position}: its title gives the key {item.key!r}, already used at line {first}"
                    )
                self.problem(at, f"{reason}; give one of them a distinct `key:`")
                continue
            first_line[item.key] = _line(at)
            items.append(item)
        return tuple(items)

    def playbook(self, root: yaml.Node) -> Playbook | None:
        """The whole file."""
        entries = self.fields(
            root, where="playbook", known=PLAYBOOK_KEYS, required=("name", "title", "items")
        )
        if entries is None:
            return None
        name = title = description = None
        if "name" in entries:
            name_node = entries["name"][1]
            name = self.text(name_node, where="name", limit=MAX_NAME, required=True)
            if name is not None and not _SLUG.fullmatch(name):
                self.problem(name_node, f"name: {name!r} must be lowercase letters, digits and hyphens")
        if "title" in entries:
            title = self.text(entries["title"][1], where="title", limit=MAX_TITLE, required=True)
        if "description" in entries:
            description = self.text(entries["description"][1], where="description", limit=MAX_DESCRIPTION)
        applies_to = None
        if "applies_to" in entries:
            applies_to = self.applicability(entries["applies_to"][1], where="applies_to")
        cadence = self.cadence(entries["status_updates"][1]) if "status_updates" in entries else {}
        items = self.items(entries["items"][1]) if "items" in entries else ()
        if self.problems or name is None or title is None:
            return None
        return Playbook(
            name=name,
            title=title,
            description=description or "",
            applies_to=applies_to or Applicability(),
            status_updates=cadence,
            items=items,
            path=self.path,
            line=_line(entries["name"][0]),
        )
