"""A page's settings, declared once: key, label, range or options, default and help, in one typed table.

As TensorFlow Playground declares its state in one table (state.ts), each page declares its settings in
a `PageSettings` table (lib/page_glue/settings/<page>.py), and everything else is made from it:

- the widget: `SETTINGS.widget("epochs", column)` draws `column.slider(...)` with every argument from the
  declaration, bound to the query parameter of the same name as its key (`bind=URL`);
- the URL: what a link may ask for is what the table declares, and url_settings.py names what it refused;
- the presets (lib/app/presets.py): a table checks its page's presets when it is built, so a preset that
  names a setting the page does not declare, or a value its control cannot take, fails at import (and in
  tests/test_settings.py), never in a workshop;
- the share box: `SETTINGS.link()` puts the page's link and presets under its title.

A part that depends on what the page computed (a slider over a sentence's decoding steps, a default read
from measurements) is declared `Drawn("why")`: the page gives it when it draws, and only then. A setting
whose key depends on a choice (one slider per series, one row per conv layer) is declared once per key,
in a loop in its table, so every key a link may carry is in the table. Passing an argument the table
already declares is an error: the declaration stays the only place a setting is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import streamlit as st

from lib.app.presets import PRESETS
from lib.app.url_settings import URL, Preset, SettingsLink
from lib.engine.training import SEED_HELP

# What a page may still say when it draws a declared setting: how it looks and when it acts, never what it holds.
PRESENTATION = frozenset({"label_visibility", "disabled", "on_change", "width"})


@dataclass(frozen=True)
class Drawn:
    """A part of a setting that the page gives when it draws the widget, because the page computes it.

    `within` is what a preset may name for it (every option it can ever have), when that is known.
    """

    reason: str
    within: Sequence[Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting of a page: the key (also its query parameter), the label and the help; subclasses add
    the range or options and the default, under the names Streamlit's widget takes them."""

    key: str
    label: str | Drawn
    help: str | None = None

    widget: ClassVar[str]

    def arguments(self) -> dict[str, Any]:
        """The widget's arguments as declared (a None is left to Streamlit's own default)."""
        return {
            field.name: getattr(self, field.name)
            for field in fields(self)
            if field.name != "key" and getattr(self, field.name) is not None
        }

    def draw(self, container=None, **given):
        arguments = self.arguments()
        drawn = {name for name, value in arguments.items() if isinstance(value, Drawn)}
        if missing := drawn - given.keys():
            raise TypeError(f"Setting {self.key!r} is drawn with {sorted(missing)}: the page must give them")
        if declared := given.keys() - drawn - PRESENTATION:
            raise TypeError(f"Setting {self.key!r} already declares {sorted(declared)}: change its table instead")
        return getattr(container or st, self.widget)(key=self.key, bind=URL, **(arguments | given))

    def problem(self, asked: str | list[str]) -> str | None:
        """Why this control cannot take a link's value written as `asked` (None when it can)."""
        raise NotImplementedError

    def _one(self, asked: str | list[str]) -> str | None:
        return asked if isinstance(asked, str) else None


def _known(value) -> bool:
    return value is not None and not isinstance(value, Drawn)


@dataclass(frozen=True, kw_only=True)
class _Number(Setting):
    min_value: float | Drawn
    max_value: float | Drawn
    value: float | Drawn
    step: float | None = None
    format: str | None = None

    def __post_init__(self):
        if _known(self.min_value) and _known(self.max_value) and _known(self.value):
            if not self.min_value <= self.value <= self.max_value:
                raise ValueError(
                    f"Setting {self.key!r}: default {self.value} outside [{self.min_value}, {self.max_value}]"
                )

    def draw(self, container=None, **given):
        """As every setting, except a range the page narrows to one value (the head of a one-head model):
        Streamlit refuses a slider whose least and most are equal, so that one value is written instead."""
        arguments = self.arguments() | given
        least, most = arguments["min_value"], arguments["max_value"]
        if _known(least) and _known(most) and least == most:
            label = arguments["label"]
            (container or st).caption(f"{label}: {least} (the only one)", help=arguments.get("help"))
            return least
        return super().draw(container, **given)

    def _integer(self) -> bool:
        declared = [v for v in (self.min_value, self.max_value, self.value, self.step) if _known(v)]
        return all(isinstance(v, int) and not isinstance(v, bool) for v in declared)

    def problem(self, asked):
        text = self._one(asked)
        try:
            number = float(text)
        except (TypeError, ValueError):
            return f"{asked!r} is not a number"
        if not math.isfinite(number) or (self._integer() and not number.is_integer()):
            return f"{asked!r} is not a {'whole ' if self._integer() else ''}number this control holds"
        if (_known(self.min_value) and number < self.min_value) or (_known(self.max_value) and number > self.max_value):
            return f"{asked!r} is outside [{self.min_value}, {self.max_value}]"
        return None


@dataclass(frozen=True, kw_only=True)
class Slider(_Number):
    widget: ClassVar[str] = "slider"


@dataclass(frozen=True, kw_only=True)
class NumberInput(_Number):
    widget: ClassVar[str] = "number_input"


@dataclass(frozen=True, kw_only=True)
class _Choice(Setting):
    options: Sequence[Any] | Drawn
    format_func: Callable[[Any], Any] | None = None

    def labels(self) -> list[str] | None:
        """The options as the address writes them (their labels), or None when the page gives them."""
        options = self.options.within if isinstance(self.options, Drawn) else self.options
        if options is None:
            return None
        return [str((self.format_func or str)(option)) for option in options]

    def _missing(self, asked: list[str]) -> str | None:
        labels = self.labels()
        unknown = [item for item in asked if labels is not None and item not in labels]
        return f"{', '.join(map(repr, unknown))} is not one of {labels}" if unknown else None

    def problem(self, asked):
        text = self._one(asked)
        return f"{asked!r} is not one value" if text is None else self._missing([text])


@dataclass(frozen=True, kw_only=True)
class Selectbox(_Choice):
    index: int | Drawn = 0
    widget: ClassVar[str] = "selectbox"


@dataclass(frozen=True, kw_only=True)
class Radio(_Choice):
    index: int | Drawn = 0
    horizontal: bool = False
    widget: ClassVar[str] = "radio"


@dataclass(frozen=True, kw_only=True)
class SelectSlider(_Choice):
    value: Any
    widget: ClassVar[str] = "select_slider"

    def __post_init__(self):
        if not isinstance(self.options, Drawn) and _known(self.value) and self.value not in self.options:
            raise ValueError(f"Setting {self.key!r}: default {self.value!r} is not one of its options")


@dataclass(frozen=True, kw_only=True)
class Multiselect(_Choice):
    default: Sequence[Any] | Drawn
    widget: ClassVar[str] = "multiselect"

    def problem(self, asked):
        return self._missing([asked] if isinstance(asked, str) else list(asked))


@dataclass(frozen=True, kw_only=True)
class SegmentedControl(_Choice):
    default: Any = None
    selection_mode: str = "single"
    required: bool = False
    widget: ClassVar[str] = "segmented_control"

    def problem(self, asked):
        if self.selection_mode == "multi":
            return self._missing([asked] if isinstance(asked, str) else list(asked))
        return super().problem(asked)


@dataclass(frozen=True, kw_only=True)
class Pills(SegmentedControl):
    widget: ClassVar[str] = "pills"


@dataclass(frozen=True, kw_only=True)
class Toggle(Setting):
    value: bool = False
    widget: ClassVar[str] = "toggle"

    def problem(self, asked):
        return None if self._one(asked) in ("true", "false") else f"{asked!r} is neither true nor false"


@dataclass(frozen=True, kw_only=True)
class Checkbox(Toggle):
    widget: ClassVar[str] = "checkbox"


@dataclass(frozen=True, kw_only=True)
class TextInput(Setting):
    value: str | Drawn = ""
    max_chars: int | None = None
    widget: ClassVar[str] = "text_input"

    def problem(self, asked):
        text = self._one(asked)
        if text is None:
            return f"{asked!r} is not one text"
        if self.max_chars is not None and len(text) > self.max_chars:
            return f"the text has {len(text)} characters, more than {self.max_chars}"
        return None


# Every training page's seed: the same setting on each, so a room can share presses by it.
SEED = NumberInput(key="seed", label="Seed", min_value=0, max_value=9999, value=0, step=1, help=SEED_HELP)


class PageSettings:
    """A page's settings table: each setting declared once, by key; the page's presets checked against it."""

    def __init__(self, page: str, settings: Sequence[Setting], presets: Sequence[Preset] | None = None):
        self.page = page
        self.settings: dict[str, Setting] = {}
        for setting in settings:
            if setting.key in self.settings:
                raise ValueError(f"{page}: the setting {setting.key!r} is declared twice")
            self.settings[setting.key] = setting
        self.presets = list(PRESETS.get(page, []) if presets is None else presets)
        if problems := [problem for preset in self.presets for problem in self.preset_problems(preset)]:
            raise ValueError(
                f"{page}'s presets ask for settings or values its table does not declare:\n" + "\n".join(problems)
            )

    def __getitem__(self, key: str) -> Setting:
        return self.settings[key]

    def __contains__(self, key: str) -> bool:
        return key in self.settings

    def preset_problems(self, preset: Preset) -> list[str]:
        """What in a preset this page's controls cannot take: a key it does not declare, a value out of range."""
        problems = []
        for key, asked in preset.settings.items():
            if key not in self.settings:
                problems.append(f"- preset {preset.name!r}: `{key}` is not a setting of {self.page}")
            elif problem := self.settings[key].problem(asked):
                problems.append(f"- preset {preset.name!r}: `{key}`: {problem}")
        return problems

    def widget(self, key: str, container=None, **given):
        """Draw the setting `key` in `container` (the page itself by default) as declared; return its value.

        `given` holds the parts its declaration leaves to the page (`Drawn`) and how it looks
        (label_visibility, disabled, width) or acts (on_change), nothing the table declares.
        """
        return self.settings[key].draw(container, **given)

    def link(self) -> SettingsLink:
        """The page's link and share box, with its presets: create it under the title, before any setting."""
        return SettingsLink(self.page, self.page, self.presets)
