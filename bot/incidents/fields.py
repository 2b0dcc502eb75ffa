"""The record a team shapes: incident types and custom fields (hashi.toml `types`, `[fields.<name>]`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.i18n import DEFAULT_LANG, Lang, Msg
from bot.incidents.errors import InvalidInput
from bot.incidents.model import FieldValue

TYPE_FORM = "/incident type <name>"
SET_FORM = "/incident set <field> <value>"
SERVICES_FORM = "/incident services <a>, <b>"
MAX_FIELD_TEXT = 500  # a text field's value, the same on every way in (command, modal)
# A Slack user as a custom field's value: a mention as Slack delivers it, or the bare user id.
_USER = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>|([UW][A-Z0-9]{2,})", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


class FieldKind(StrEnum):
    """What a custom field holds."""

    TEXT = "text"
    NUMBER = "number"
    SELECT = "select"
    USER = "user"


class Required(StrEnum):
    """When a custom field must have a value."""

    DECLARE = "declare"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class FieldSpec:
    """One custom field the team configured."""

    name: str
    kind: FieldKind
    choices: tuple[str, ...] = ()
    required: Required | None = None
    labels: Mapping[Lang, str] = field(default_factory=dict)

    def label(self, lang: Lang) -> str:
        """The field's label in a language (else English, else its name)."""
        return self.labels.get(lang) or self.labels.get(DEFAULT_LANG) or self.name

    def value_of(self, text: str) -> FieldValue:
        """A value typed or chosen for the field, as stored; InvalidInput says what was wrong and the form."""
        text = text.strip()
        if not text:
            raise InvalidInput(Msg("errors.field_empty", field=self.name, form=self.form()))
        if self.kind is FieldKind.NUMBER:
            if _NUMBER.fullmatch(text) is None or not math.isfinite(number := float(text)):
                raise InvalidInput(Msg("errors.field_not_number", field=self.name, value=text))
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        if self.kind is FieldKind.SELECT:
            for choice in self.choices:
                if choice.casefold() == text.casefold():
                    return choice
            raise InvalidInput(
                Msg("errors.field_not_choice", field=self.name, value=text, choices=", ".join(self.choices))
            )
        if self.kind is FieldKind.USER:
            found = _USER.fullmatch(text)
            if found is None:
                raise InvalidInput(
                    Msg("errors.field_not_user", field=self.name, value=text, form=self.form())
                )
            return found.group(1) or found.group(2)
        if len(text) > MAX_FIELD_TEXT:
            raise InvalidInput(Msg("errors.field_too_long", field=self.name, limit=MAX_FIELD_TEXT))
        return text

    def form(self) -> str:
        """The command that sets the field, as usage text (plain; backticks mark code)."""
        value = {
            FieldKind.TEXT: "<text>",
            FieldKind.NUMBER: "<number>",
            FieldKind.SELECT: "|".join(self.choices),
            FieldKind.USER: "<@user>",
        }[self.kind]
        return f"/incident set {self.name} {value}"


@dataclass(frozen=True)
class RecordShape:
    """The types and custom fields a team gives its incidents."""

    types: tuple[str, ...] = ("default",)
    default_type: str = "default"
    fields: tuple[FieldSpec, ...] = ()

    def incident_type(self, text: str | None) -> str:
        """The configured type a user named (any case; None: the default), else InvalidInput."""
        if text is None:
            return self.default_type
        for name in self.types:
            if name.casefold() == text.strip().casefold():
                return name
        raise InvalidInput(Msg("errors.unknown_type", text=text, known=", ".join(self.types), form=TYPE_FORM))

    def field(self, name: str) -> FieldSpec:
        """The configured field a user named (any case), else InvalidInput listing the known ones."""
        for spec in self.fields:
            if spec.name.casefold() == name.strip().casefold():
                return spec
        known = ", ".join(spec.name for spec in self.fields) or "—"
        raise InvalidInput(Msg("errors.unknown_field", text=name, known=known, form=SET_FORM))

    def values(self, given: Mapping[str, str]) -> dict[str, FieldValue]:
        """Values typed or chosen for some fields, as stored (empty ones left out), else InvalidInput."""
        values: dict[str, FieldValue] = {}
        for name, text in given.items():
            spec = self.field(name)
            if text.strip():
                values[spec.name] = spec.value_of(text)
        return values

    def missing(self, when: Required, values: Mapping[str, FieldValue]) -> list[FieldSpec]:
        """The fields required `when` that have no value."""
        return [
            s
            for s in self.fields
            if s.required is not None and _due(s.required, when) and s.name not in values
        ]


def _due(required: Required, when: Required) -> bool:
    """Whether a field required at `required` must have its value by `when` (what declaring needs, resolving
    needs too)."""
    return required is when or (required is Required.DECLARE and when is Required.RESOLVE)


def require(shape: RecordShape, when: Required, values: Mapping[str, FieldValue]) -> None:
    """Raises InvalidInput naming the required fields without a value, and how to give them."""
    missing = shape.missing(when, values)
    if missing:
        raise InvalidInput(
            Msg(
                f"errors.fields_required_{when.value}",
                fields=", ".join(s.name for s in missing),
                forms="; ".join(f"`{s.form()}`" for s in missing),
            )
        )


def shown_value(spec: FieldSpec | None, value: FieldValue) -> str:
    """A stored value as plain text (a user as a mention `<@U…>`, a number without a needless `.0`)."""
    if spec is not None and spec.kind is FieldKind.USER:
        return f"<@{value}>"
    return str(value)


def ordered_fields(
    shape_fields: Sequence[FieldSpec], values: Mapping[str, FieldValue]
) -> list[tuple[str, FieldSpec | None, FieldValue]]:
    """An incident's field values in the configured order (name, spec, value); values of fields no longer
    configured follow, by name."""
    known = {spec.name: spec for spec in shape_fields}
    rows: list[tuple[str, FieldSpec | None, FieldValue]] = [
        (spec.name, spec, values[spec.name]) for spec in shape_fields if spec.name in values
    ]
    rows += [(name, None, values[name]) for name in sorted(values) if name not in known]
    return rows
