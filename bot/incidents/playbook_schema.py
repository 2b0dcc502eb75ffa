"""A playbook file checked against the one schema of playbooks (`playbooks/hashi-playbook.schema.json`)
with jsonschema, each problem placed at its line: the YAML is composed into nodes, which keep their marks,
and every error jsonschema reports names the path of the value it is about.

What JSON cannot say is checked while the nodes become values: one document, no merge keys, no key twice.
Texts are trimmed. Numbers other than plain whole numbers (3.10, 1:30, 0x1f) are kept as written, and an
unquoted number or yes/no where the schema wants text is read as text.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from yaml.constructor import SafeConstructor

from bot.incidents.times import TimeParseError, parse_duration

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

SCHEMA_NAME = "hashi-playbook.schema.json"
# The schema's format of a due time: what parse_duration reads, at most MAX_AHEAD.
DURATION_FORMAT = "hashi-duration"
# chat.scheduleMessage refuses times more than 120 days ahead, so no reminder may be due later than that.
MAX_AHEAD = timedelta(days=120)

# SHA-256 of the playbook files Hashi ships (playbooks/*.yaml), each valid against the schema as it is
# (tests/incidents/test_playbooks.py holds this equal to the files and checks each): a file with one of these
# digests needs no jsonschema, so a replica that runs the shipped playbooks never loads it (1.4 MiB resident).
SHIPPED_VALID = frozenset(
    {
        "5ee4afee0125e18e89ae45a507060daaaefb4bad6dbf4dc5973fbcfcf5ece28c",  # bad-deploy-rollback.yaml
        "f991d8ad30a3bca2132fb7ad113081dcc4a840b8b7697a4c0e039e819efee012",  # datastore-outage.yaml
        "a08b34d0c1633e3392bbd9a82d582f22664c90d23bd6c3d1a298c437c942ccc6",  # major-incident.yaml
        "21b69c6b428acb97eb92b4bc88e6e881fe4d99eeda56aea7aebc17efa763bc70",  # security-incident.yaml
        "dadf0d68a733a6b3880f27c10e2d638c739bf77d853dbe62c0c7f5403fb5d082",  # sev-ja.yaml
    }
)

_WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"

Where: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem at a line of the file, about the value at `path` (keys and list positions from the top)."""

    line: int
    path: Where
    message: str


@dataclass
class Document:
    """A YAML file's value as the schema sees it, with the node of each value and of each key by its path."""

    value: Any
    nodes: dict[Where, yaml.Node] = field(default_factory=dict)
    keys: dict[Where, yaml.Node] = field(default_factory=dict)
    # Mappings with a merge key (<<): the keys it would have brought are not reported missing.
    merged: set[Where] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

    def line(self, path: Where) -> int:
        """The line of the value at `path`."""
        return line_of(self.nodes[path])


def shipped_playbooks_dir() -> Path:
    """The playbooks that ship with Hashi, and their schema (the source tree's, or the installed copy)."""
    source = Path(__file__).resolve().parents[2] / "playbooks"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "hashi" / "playbooks"


@cache
def schema() -> dict[str, Any]:
    """The playbook schema."""
    loaded: dict[str, Any] = json.loads((shipped_playbooks_dir() / SCHEMA_NAME).read_text(encoding="utf-8"))
    return loaded


def compose(text: str) -> tuple[yaml.Node | None, list[Finding]]:
    """The file's single YAML document as nodes (which keep their lines), or None and the reason."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            return None, [Finding(1, (), f"YAML syntax error: {exc.problem or exc}")]
        reason = f"YAML syntax error at column {int(mark.column) + 1}: {exc.problem}"
        if exc.context:
            started = exc.context_mark
            reason += f", {exc.context}"
            if started is not None and int(started.line) != int(mark.line):
                reason += f" that starts at line {int(started.line) + 1}"
        return None, [Finding(int(mark.line) + 1, (), reason)]
    except yaml.reader.ReaderError as exc:
        return None, [Finding(text[: exc.position].count("\n") + 1, (), f"YAML syntax error: {exc.reason}")]
    except yaml.YAMLError as exc:
        return None, [Finding(1, (), f"YAML syntax error: {exc}")]
    if root is None:
        return None, [Finding(1, (), "the file is empty; a playbook needs name, title and items")]
    return root, []


def document(root: yaml.Node) -> Document:
    """The value of a composed file, with the findings JSON cannot hold (merge keys, a key given twice)."""
    doc = Document(value=None)
    doc.value = _value(root, (), doc)
    return doc


def validate(doc: Document) -> list[Finding]:
    """What the schema refuses in the document, each at the line of the value it is about."""
    validator = _validator()
    errors = list(validator.iter_errors(doc.value))
    # An unquoted number or yes/no where the schema wants text is that text (`title: 3.10`, `title: yes`).
    as_text = [error for error in errors if _wants_text(error)]
    if as_text:
        for error in as_text:
            path = tuple(error.absolute_path)
            _put(doc.value, path, str(doc.nodes[path].value).strip())
        errors = list(validator.iter_errors(doc.value))
    findings: list[Finding] = []
    for error in errors:
        findings.extend(_findings(error, doc))
    return list(dict.fromkeys(findings))


def _due_problem(node: yaml.Node) -> str | None:
    """Why a due time cannot be used (`10m`, `1h30m`; up to 120 days), or None."""
    if not isinstance(node, yaml.ScalarNode) or node.tag in (_NULL, _BOOL):
        return f"must be a duration such as 10m or 1h30m, not {kind(node)}"
    if node.tag in (_INT, _FLOAT):
        return f"{node.value} has no unit; write e.g. {node.value}m"
    try:
        due = parse_duration(str(node.value))
    except TimeParseError as exc:
        return f"bad duration: {exc}"
    if due > MAX_AHEAD:
        return f"{node.value} is too far ahead; Slack schedules reminders up to 120 days"
    return None


def where(path: Where) -> str:
    """How a message names a place: `playbook`, `applies_to.severities`, `item 2`, `item 2 when.types`."""
    if not path:
        return "playbook"
    names = [part for part in path if isinstance(part, str)]
    if path[0] == "items" and len(path) > 1:
        rest = ".".join(names[1:])
        return f"item {int(path[1]) + 1} {rest}" if rest else f"item {int(path[1]) + 1}"
    return ".".join(names)


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def kind(node: yaml.Node) -> str:
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


def suggestion(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'title'?` for a near miss, else the valid choices."""
    by_folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {by_folded[close[0]]!r}?"
    return f" (expected one of: {', '.join(choices)})"


@cache
def _validator() -> Draft202012Validator:
    # Imported on first use: loading jsonschema takes a fifth of a second that commands without playbooks
    # need not wait for.
    from jsonschema import Draft202012Validator, FormatChecker

    formats = FormatChecker(formats=())
    formats.checks(DURATION_FORMAT)(_is_duration)
    return Draft202012Validator(schema(), format_checker=formats)


def _is_duration(value: object) -> bool:
    """The schema's `hashi-duration` format (true for non-text: the type says what is wrong with it)."""
    if not isinstance(value, str):
        return True
    try:
        return parse_duration(value) <= MAX_AHEAD
    except TimeParseError:
        return False


def _value(node: yaml.Node, path: Where, doc: Document) -> Any:
    """The JSON value of a node, noting every node by its path."""
    doc.nodes[path] = node
    if isinstance(node, yaml.SequenceNode):
        return [_value(element, (*path, index), doc) for index, element in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, path, doc)
    return _scalar(node)


def _mapping(node: yaml.MappingNode, path: Where, doc: Document) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            message = f"{where(path)}: YAML merge keys (<<) are not supported; write the keys out"
            doc.findings.append(Finding(line_of(key_node), path, message))
            doc.merged.add(path)
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            message = f"{where(path)}: a key must be a plain word, not {kind(key_node)}"
            doc.findings.append(Finding(line_of(key_node), path, message))
            continue
        key = str(key_node.value)
        if key in mapping:
            first = line_of(doc.keys[(*path, key)])
            message = f"{where(path)}: {key!r} is given twice (first at line {first}); keep one"
            doc.findings.append(Finding(line_of(key_node), path, message))
            continue
        doc.keys[(*path, key)] = key_node
        mapping[key] = _value(value_node, (*path, key), doc)
    return mapping


def _scalar(node: yaml.Node) -> Any:
    """None, true/false, a plain whole number, or the text as written (trimmed)."""
    text = str(node.value)
    if node.tag == _NULL:
        return None
    if node.tag == _BOOL:
        return bool(SafeConstructor.bool_values[text.lower()])
    if node.tag == _INT and _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    return text.strip()


def _wants_text(error: ValidationError) -> bool:
    return (
        error.validator == "type"
        and "string" in _types(error.validator_value)
        and isinstance(error.instance, bool | int)
    )


def _types(expected: object) -> list[str]:
    return [str(t) for t in expected] if isinstance(expected, list) else [str(expected)]


def _put(container: Any, path: Where, value: Any) -> None:
    for part in path[:-1]:
        container = container[part]
    container[path[-1]] = value


def _role(path: Where) -> str:
    """What a value is in a playbook, wherever it stands: `item.due`, `condition.severities`…"""
    names = [part for part in path if isinstance(part, str)]
    if not names:
        return "playbook"
    if names[0] == "status_updates":
        return "status_updates.severity" if len(names) > 1 else "status_updates"
    if names[0] == "applies_to":
        return ".".join(["condition", *names[1:]])
    if names[0] == "items" and len(path) > 1:
        rest = names[1:]
        if rest[:1] == ["when"]:
            return ".".join(["condition", *rest[1:]])
        return ".".join(["item", *rest])
    return ".".join(names)


def _findings(error: ValidationError, doc: Document) -> Iterator[Finding]:
    """The findings of one schema error, in the words of the hand-written checks they replace."""
    path = tuple(error.absolute_path)
    node = doc.nodes[path]
    at = where(path)
    role = _role(path)
    keyword = error.validator
    instance: Any = error.instance
    sub: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if role == "item.due":
        message = _due_problem(node) or f"must be a duration such as 10m or 1h30m, not {kind(node)}"
        yield Finding(line_of(node), path, f"{at}: {message}")
    elif keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(sub.get("properties", {}))
        for key in instance:
            if key not in known:
                message = f"{at}: unknown key {key!r}{suggestion(key, known)}"
                yield Finding(line_of(doc.keys[(*path, key)]), (*path, key), message)
    elif keyword == "required" and isinstance(instance, dict):
        yield from _missing(path, instance, sub, doc)
    elif keyword == "type":
        yield Finding(line_of(node), path, f"{at}: {_type_problem(role, node, instance, error)}")
    elif keyword == "minItems":
        need = "a playbook needs at least one item" if role == "items" else "list at least one value"
        tail = "" if role == "items" else " or leave the key out"
        yield Finding(line_of(node), path, f"{at}: is an empty list; {need}{tail}")
    elif keyword == "minLength" or (keyword == "pattern" and instance == ""):
        yield Finding(line_of(node), path, f"{at}: is empty")
    elif keyword == "maxLength":
        message = f"{at}: is {len(instance)} characters long; keep it to {error.validator_value}"
        yield Finding(line_of(node), path, message)
    elif keyword == "pattern" and role == "item.link":
        yield Finding(line_of(node), path, f"{at}: must start with https:// or http://")
    elif keyword == "pattern" and role in ("name", "item.key"):
        yield Finding(
            line_of(node), path, f"{at}: {instance!r} must be lowercase letters, digits and hyphens"
        )
    elif keyword in ("minimum", "maximum"):
        low, high = sub.get("minimum"), sub.get("maximum")
        yield Finding(line_of(node), path, f"{at}: must be between {low} and {high} minutes")
    else:
        yield Finding(line_of(node), path, f"{at}: {error.message}")


def _missing(path: Where, given: dict[str, Any], sub: Mapping[str, Any], doc: Document) -> Iterator[Finding]:
    """`no 'title' given`, but not for a key that an unknown one was probably meant as, nor in a mapping with
    a merge key (<<) that may have been meant to bring it: those are reported on their own."""
    if path in doc.merged:
        return
    known = list(sub.get("properties", {}))
    misspelt = _near_misses((key for key in given if key not in known), known)
    for key in sub.get("required", []):
        if key not in given and key not in misspelt:
            yield Finding(doc.line(path), path, f"{where(path)}: no {key!r} given")


def _type_problem(role: str, node: yaml.Node, instance: object, error: ValidationError) -> str:
    """Why a value of the wrong type cannot be used, and what to write."""
    wanted = [t for t in _types(error.validator_value) if t != "null"]
    if "string" in wanted:
        return "is empty" if instance is None else f"must be text, not {kind(node)}"
    if "boolean" in wanted:
        return f"must be true or false, not {kind(node)}"
    if "integer" in wanted:
        return f"must be a whole number of minutes, not {kind(node)}"
    if "array" in wanted and role == "items":
        return f"must be a list of items (lines starting with '- '), not {kind(node)}"
    if "array" in wanted:
        plain = isinstance(node, yaml.ScalarNode) and node.tag != _NULL
        return f"must be a list, e.g. {f'[{node.value}]' if plain else '[a, b]'}, not {kind(node)}"
    if role == "status_updates":
        return f"must map severities to minutes, e.g. SEV1: 15, not {kind(node)}"
    return f"must be a mapping of `key: value` lines, not {kind(node)}"


def _near_misses(unknown: Iterable[str], known: Sequence[str]) -> set[str]:
    """The known keys that unknown ones were probably meant as (not reported missing as well)."""
    return {
        close
        for key in unknown
        for close in difflib.get_close_matches(key.casefold(), known, n=1, cutoff=0.6)
    }
