"""The message catalogue: every text a person reads, in English and Japanese.

Texts live in `en.toml` and `ja.toml` beside this module, under dotted keys (`card.severity`). A text is a
`str.format` template with named placeholders; a table of `one`/`other` is a plural, chosen by the `count`
parameter. The catalogue's own texts are trusted; people's words are escaped by the caller for where the text
goes (mrkdwn, Markdown or plain text), either in the values filled in or, for a whole message that carries
them (an error, a timeline event), in the rendered text.

`Msg` is a text not yet rendered (a key and its parameters), for values that travel before anyone knows who
will read them: errors raised in the core, timeline events stored once and shown in every language.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

Lang = Literal["en", "ja"]
LANGUAGES: tuple[Lang, ...] = ("en", "ja")
DEFAULT_LANG: Lang = "en"


class Msg:
    """A catalogue text with its parameters, rendered when the reader's language is known."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params = params

    def render(self, lang: Lang) -> str:
        """The text in a language."""
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)

    def as_data(self) -> dict[str, Any]:
        """The message as JSON-able data (to store it and render it later), or raises for odd parameters."""
        params: dict[str, Any] = {}
        for name, value in self.params.items():
            if isinstance(value, Msg):
                params[name] = {"msg": value.as_data()}
            elif isinstance(value, tuple):
                params[name] = [{"msg": v.as_data()} if isinstance(v, Msg) else str(v) for v in value]
            elif value is None or isinstance(value, str | int | float | bool):
                params[name] = value
            else:
                raise TypeError(f"{name}: {type(value).__name__} cannot be stored")
        return {"key": self.key, "params": params}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Msg | None:
        """The message stored by as_data; None when the data is not one or names a key no longer known."""
        key, params = data.get("key"), data.get("params")
        if not isinstance(key, str) or not isinstance(params, dict) or key not in catalogue(DEFAULT_LANG):
            return None
        values: dict[str, object] = {}
        for name, value in params.items():
            if isinstance(value, dict):
                inner = Msg.from_data(value.get("msg") or {})
                if inner is None:
                    return None
                values[str(name)] = inner
            elif isinstance(value, list):
                items: list[object] = []
                for item in value:
                    found = Msg.from_data(item.get("msg") or {}) if isinstance(item, dict) else str(item)
                    if found is None:
                        return None
                    items.append(found)
                values[str(name)] = tuple(items)
            else:
                values[str(name)] = value
        return cls(key, **values)


Text = str | Msg


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str | dict[str, str]]:
    out: dict[str, str | dict[str, str]] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and set(value) <= {"one", "other"} and "other" in value:
            out[key] = {k: str(v) for k, v in value.items()}
        elif isinstance(value, dict):
            out |= _flatten(value, key + ".")
        else:
            out[key] = str(value)
    return out


@cache
def catalogue(lang: Lang) -> dict[str, str | dict[str, str]]:
    """Every text of a language by dotted key (a plural as its `one`/`other` table)."""
    raw = resources.files(__package__).joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(raw))


@cache
def postmortem_template(lang: Lang) -> str:
    """The postmortem template Hashi ships in a language (`postmortem.<lang>.md`: Markdown with the
    placeholders bot/reports/postmortem.py fills)."""
    return resources.files(__package__).joinpath(f"postmortem.{lang}.md").read_text(encoding="utf-8")


def placeholders(template: str) -> frozenset[str]:
    """The named placeholders of a template."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def t(key: str, lang: Lang, /, **params: object) -> str:
    """The text of a key in a language, its placeholders filled (a Msg parameter is rendered in the same one).

    An unknown key is a programming error (KeyError): the catalogue test keeps every key in both languages.
    """
    entry = catalogue(lang)[key]
    if isinstance(entry, dict):
        count = params.get("count")
        entry = entry.get("one", entry["other"]) if count == 1 else entry["other"]
    if not params:
        return entry
    return entry.format_map({name: _value(v, lang) for name, v in params.items()})


def _value(value: object, lang: Lang) -> object:
    """A parameter as it goes into a text: a Msg rendered, a tuple as a list ending in "or"."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, tuple):
        items = [str(_value(v, lang)) for v in value]
        if len(items) <= 1:
            return "".join(items)
        return t("list.or", lang, head=t("list.separator", lang).join(items[:-1]), last=items[-1])
    return value


def language_of(locale: str | None) -> Lang | None:
    """The catalogue language of a Slack locale (`ja-JP` → `ja`, `en-US` → `en`), or None for others."""
    if not locale:
        return None
    base = locale.replace("_", "-").split("-", 1)[0].lower()
    return next((lang for lang in LANGUAGES if lang == base), None)
