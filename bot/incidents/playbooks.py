"""Playbooks: response checklists kept as YAML files, loaded with file, line and reason for each problem.

A file is checked against the one schema of playbooks (bot/incidents/playbook_schema.py), then against the
team's configuration (severities, roles) and for what a schema cannot say (item keys unique in the file).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.incidents.playbook_schema import (
    SHIPPED_VALID,
    Document,
    Finding,
    Where,
    compose,
    document,
    line_of,
    schema,
    suggestion,
    validate,
    where,
)
from bot.incidents.times import parse_duration

SUFFIXES = (".yaml", ".yml")
# Slack shows at most 75 characters of a checkbox option's text; longer titles are cut there when rendered.
SLACK_OPTION_TEXT = 75
MAX_FILE_BYTES = 1_000_000


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
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [PlaybookProblem(path, 0, f"cannot read the file: {exc.strerror or exc}")]
    if len(data) > MAX_FILE_BYTES:
        return None, [PlaybookProblem(path, 0, f"the file is larger than {MAX_FILE_BYTES:,} bytes")]
    if len(data) > REMEMBERED_FILE_BYTES:
        playbook, problems = _checked(data, path, tuple(severities), tuple(roles))
    else:
        playbook, problems = _remembered(data, path, tuple(severities), tuple(roles))
    return playbook, list(problems)


# A file checked once is not parsed again while its bytes, path, severities and roles are the same: composing
# YAML with its lines is pure Python, about 15 ms a playbook file, and one process may load the same folder
# again (each app the tests build, `hashi doctor` beside the runtime it builds).
REMEMBERED_FILE_BYTES = 64 * 1024


def _checked(
    data: bytes, path: Path, severities: tuple[str, ...], roles: tuple[str, ...]
) -> tuple[Playbook | None, tuple[PlaybookProblem, ...]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, (PlaybookProblem(path, line, "not UTF-8 text; save the file as UTF-8"),)
    root, findings = compose(text)
    playbook = None
    if root is not None:
        doc = document(root)
        refused = [] if hashlib.sha256(data).hexdigest() in SHIPPED_VALID else validate(doc)
        reader = _Reader(doc, path=path, severities=severities, roles=roles, refused=refused)
        playbook = reader.playbook()
        findings = doc.findings + refused + reader.findings
    problems = tuple(PlaybookProblem(path, f.line, f.message) for f in sorted(findings, key=lambda f: f.line))
    return (playbook if not problems else None), problems


_remembered = lru_cache(maxsize=64)(_checked)


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
    longest = int(schema()["$defs"]["slug"]["maxLength"])
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:longest].rstrip("-")


def _folded(values: Iterable[str]) -> set[str]:
    """Values compared case-insensitively."""
    return {v.casefold() for v in values}


class _Reader:
    """Builds a playbook from a document the schema has checked, noting what the team's configuration refuses
    and what a schema cannot say; values the schema refused are left alone."""

    def __init__(
        self,
        doc: Document,
        *,
        path: Path,
        severities: Sequence[str],
        roles: Sequence[str],
        refused: Sequence[Finding],
    ) -> None:
        self.doc = doc
        self.path = path
        self.severities = {s.casefold(): s for s in severities}
        self.roles = {r.casefold(): r for r in roles}
        self.refused = {f.path for f in refused}
        self.findings: list[Finding] = []

    def note(self, path: Where, message: str, *, line: int | None = None) -> None:
        """A problem with the value at `path` (at its line unless told)."""
        self.findings.append(Finding(line or self.doc.line(path), path, message))

    def get(self, path: Where) -> Any:
        """The value at `path`, or None when it is absent or the schema refused it."""
        return None if path in self.refused else self.given(path)

    def given(self, path: Where) -> Any:
        """The value at `path` as written, or None when it is absent."""
        if path not in self.doc.nodes:
            return None
        value = self.doc.value
        for part in path:
            value = value[part]
        return value

    def severity(self, path: Where, code: str, *, line: int | None = None) -> str | None:
        """A configured severity code in its configured spelling (`sev1` → `SEV1`)."""
        known = self.severities.get(code.casefold())
        if known is None:
            configured = ", ".join(self.severities.values())
            self.note(path, f"{where(path)}: unknown severity {code!r} (configured: {configured})", line=line)
        return known

    def labels(self, path: Where) -> tuple[str, ...]:
        """A list of texts, each once."""
        values = self.get(path)
        if not isinstance(values, list):
            return ()
        return tuple(dict.fromkeys(v for i, v in enumerate(values) if isinstance(self.get((*path, i)), str)))

    def applicability(self, path: Where) -> Applicability | None:
        """An `applies_to` or `when` condition (left empty: no condition)."""
        given = self.get(path)
        if given is None and path not in self.refused:
            return Applicability()
        if not isinstance(given, dict):
            return None
        codes = self.get((*path, "severities"))
        severities = tuple(
            dict.fromkeys(
                known
                for index, code in enumerate(codes if isinstance(codes, list) else ())
                if isinstance(self.get((*path, "severities", index)), str)
                and (known := self.severity((*path, "severities", index), code)) is not None
            )
        )
        private = self.get((*path, "private"))
        return Applicability(
            severities=severities,
            services=self.labels((*path, "services")),
            private=private if isinstance(private, bool) else None,
            types=self.labels((*path, "types")),
        )

    def cadence(self) -> dict[str, int]:
        """`status_updates`: minutes between updates, by severity."""
        given = self.get(("status_updates",))
        if not isinstance(given, dict):
            return {}
        cadence: dict[str, int] = {}
        for key, minutes in given.items():
            path: Where = ("status_updates", key)
            key_line = line_of(self.doc.keys[path])
            code = self.severity(("status_updates",), key, line=key_line) if key else None
            if code is None:
                continue
            if code in cadence:
                self.note(path, f"status_updates: {code} is given twice; keep one", line=key_line)
            elif isinstance(self.get(path), int):
                cadence[code] = minutes
        return cadence

    def role(self, path: Where) -> str | None:
        """A configured role, in its configured spelling."""
        name = self.get(path)
        if not isinstance(name, str) or not name:
            return None
        known = self.roles.get(name.casefold())
        if known is None:
            choices = list(self.roles.values())
            self.note(path, f"{where(path)}: unknown role {name!r}{suggestion(name, choices)}")
        return known

    def item(self, position: int) -> PlaybookItem | None:
        """One checklist item."""
        path: Where = ("items", position)
        entries = self.given(path)
        if not isinstance(entries, dict):
            return None
        title = self.get((*path, "title"))
        key = self.get((*path, "key"))
        if "key" not in entries and isinstance(title, str) and not slug(title):
            self.note(
                (*path, "title"),
                f"{where(path)}: add a `key:` (lowercase letters, digits, hyphens); this title gives none",
            )
        due = self.get((*path, "due"))
        required = self.get((*path, "required"))
        role = self.role((*path, "role"))
        when = self.applicability((*path, "when")) if "when" in entries else None
        if not isinstance(title, str) or (key is None and not slug(title)):
            return None
        return PlaybookItem(
            key=key if isinstance(key, str) else slug(title),
            title=title,
            details=self.get((*path, "details")) or "",
            link=self.get((*path, "link")) or None,
            role=role,
            due=parse_duration(due) if isinstance(due, str) else None,
            when=when,
            required=required is True,
            line=self.doc.line(path),
        )

    def items(self) -> tuple[PlaybookItem, ...]:
        """The checklist, each item's key once."""
        given = self.get(("items",))
        if not isinstance(given, list):
            return ()
        items: list[PlaybookItem] = []
        first_line: dict[str, int] = {}
        for position in range(len(given)):
            before = len(self.findings)
            item = self.item(position)
            if item is None or len(self.findings) > before or self._refused_within(("items", position)):
                continue
            path: Where = ("items", position)
            keyed = "key" in given[position]
            at: Where = (*path, "key" if keyed else "title")
            if item.key in first_line:
                first = first_line[item.key]
                if keyed:
                    reason = f"item {position + 1} key: {item.key!r} is used twice (first at line {first})"
                else:
                    reason = (
                        f"item {position + 1}: its title gives the key {item.key!r}, "
                        f"already used at line {first}"
                    )
                self.note(at, f"{reason}; give one of them a distinct `key:`")
                continue
            first_line[item.key] = self.doc.line(at)
            items.append(item)
        return tuple(items)

    def playbook(self) -> Playbook | None:
        """The whole file, or None when the schema refused its shape."""
        if not isinstance(self.doc.value, dict):
            return None
        applies_to = self.applicability(("applies_to",))
        cadence = self.cadence()
        items = self.items()
        name, title = self.get(("name",)), self.get(("title",))
        if not isinstance(name, str) or not isinstance(title, str):
            return None
        return Playbook(
            name=name,
            title=title,
            description=self.get(("description",)) or "",
            applies_to=applies_to or Applicability(),
            status_updates=cadence,
            items=items,
            path=self.path,
            line=line_of(self.doc.keys[("name",)]),
        )

    def _refused_within(self, path: Where) -> bool:
        """Whether the schema refused a value of the item at `path` (an unknown key is not one of them)."""
        fields = schema()["$defs"]["item"]["properties"]
        return any(
            len(refused) > len(path) and refused[: len(path)] == path and refused[len(path)] in fields
            for refused in self.refused
        )
