"""``bot new flow NAME``: a small working flow to start from, with its texts and its test.

Writes ``flows/NAME.yaml`` (a trigger keyword, a question that fills a slot, a yes/no
confirmation, an end), appends a ``NAME:`` block of texts to every configured language's
``locales/<lang>.yaml`` (a plain append: the file's comments and layout are kept) and writes a
conversation test ``flows/tests/NAME.yaml`` that passes. :meth:`Scaffold.undo` takes it all
back (the CLI does when the result does not validate or its test fails).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.errors import BotError
from bot.flows.model import Flow
from bot.locales import Locales

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CLOSE_REASON = "done"

TEXTS: Mapping[str, Mapping[str, str]] = {
    "es": {
        "ask_name": "¡Empecemos! ¿Cómo te llamas?",
        "confirm": "Gracias, {name}. ¿Confirmo?",
        "done": "¡Listo, {name}! (Cambia este texto en {file}, clave {key}.)",
    },
    "en": {
        "ask_name": "Let's get started! What's your name?",
        "confirm": "Thanks, {name}. Shall I confirm?",
        "done": "Done, {name}! (Change this text in {file}, key {key}.)",
    },
}
"""Starting texts by language; a language not listed gets the English ones to translate.
``{key}`` and ``{file}`` are replaced when writing (the others are the flow's slots)."""


class ScaffoldError(BotError):
    """The flow cannot be created (a bad or taken name); the message is one line."""


@dataclass(slots=True)
class Scaffold:
    """What :func:`write_flow` wrote, to report it or take it back.

    Attributes:
        created: New files (the flow, its test).
        appended: Locale files a block was appended to, with their previous text.
    """

    created: list[Path] = field(default_factory=list)
    appended: dict[Path, str] = field(default_factory=dict)

    @property
    def test_file(self) -> Path:
        """The conversation test written (the last file created)."""
        return self.created[-1]

    def undo(self) -> None:
        """Delete the created files and restore the locale files."""
        for path in self.created:
            path.unlink(missing_ok=True)
        for path, text in self.appended.items():
            path.write_text(text, encoding="utf-8")


def keyword_of(name: str) -> str:
    """The trigger keyword of flow ``name``: its words (``table_booking`` → ``table booking``)."""
    return name.replace("_", " ")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().strip())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def check_name(
    name: str, settings: Settings, locales: Locales, flows: Mapping[str, Flow]
) -> None:
    """Refuse a name that is invalid or taken.

    Raises:
        ScaffoldError: ``name`` is not lowercase letters, digits and ``_``; a flow, a flow
            file, a test file or a locale block of that name exists; or its keyword already
            triggers a flow.
    """
    if not NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid flow name: use lowercase letters, digits and _, "
            "starting with a letter (at most 40)"
        )
    if name in flows:
        raise ScaffoldError(f"flow {name!r} already exists ({flows[name].source.path})")
    for path in (
        settings.flows_dir / f"{name}.yaml",
        settings.flows_dir / f"{name}.yml",
        settings.flows_dir / "tests" / f"{name}.yaml",
    ):
        if path.exists():
            raise ScaffoldError(f"{path} already exists")
    for lang in locales.languages:
        if any(key == name or key.startswith(f"{name}.") for key in locales.texts[lang]):
            raise ScaffoldError(
                f"locales/{lang}.yaml already has texts under {name!r}; choose another name"
            )
    keyword = _fold(keyword_of(name))
    for flow in flows.values():
        if keyword in {_fold(k) for k in flow.keywords}:
            raise ScaffoldError(
                f"the keyword {keyword_of(name)!r} already starts flow {flow.id!r}; "
                "choose another name"
            )


def flow_text(name: str) -> str:
    """The flow file of ``name``."""
    return f"""\
# {name}: written by `bot new flow {name}` as a starting point. Change the texts in
# locales/*.yaml (keys {name}.*), the steps below and the test in flows/tests/{name}.yaml,
# then run `bot validate` and `bot test`. docs/flows.md describes every key.
id: {name}
description: "What this flow does (shown in the dashboard)."
triggers:
  keywords: ["{keyword_of(name)}"]   # words that start it; intents: [...] from intents/*.yaml
steps:
  - id: ask_name
    say: {name}.ask_name
    collect: name                  # the answer is kept in the slot `name`

  - id: confirm
    say: {name}.confirm            # texts read slots: "Thanks, {{name}}."
    collect: confirmed
    type: yes_no
    next:
      "yes": done
      "no": cancel                 # closes the session as cancelled

  - id: done
    say: {name}.done
    end: {CLOSE_REASON}                      # the close reason, seen in the dashboard
"""


def test_text(name: str, locales: Locales) -> str:
    """The conversation test of flow ``name``: the happy path in each language, and a "no"."""
    done_close = (
        f"close.{CLOSE_REASON}" if locales.has(f"close.{CLOSE_REASON}") else "close.completed"
    )
    cancel_close = "close.cancel" if locales.has("close.cancel") else "close.cancelled"
    cases = []
    for lang in locales.languages:
        cases.append(f"""\
  - name: "{lang}: asks the name, confirms and ends"
    lang: {lang}
    turns:
      - user: "{keyword_of(name)}"
        bot: {{key: {name}.ask_name}}
      - user: Ana
        bot: {{key: {name}.confirm}}
      - tap: "yes"
        bot: [{{key: {name}.done}}, {{key: {done_close}}}]
        slots: {{name: Ana, confirmed: true}}
        status: completed
        close_reason: {CLOSE_REASON}
""")
    cases.append(f"""\
  - name: "a no cancels"
    lang: {locales.languages[0]}
    turns:
      - user: "{keyword_of(name)}"
      - user: Ana
      - tap: "no"
        bot: {{key: {cancel_close}}}
        status: cancelled
""")
    return (
        f"# Conversation tests of flows/{name}.yaml (written by `bot new flow {name}`). "
        "Run: bot test\ntests:\n" + "\n".join(cases)
    )


def locale_block(name: str, lang: str) -> str:
    """The ``name:`` block of texts appended to ``locales/<lang>.yaml``."""
    texts = TEXTS.get(lang, TEXTS["en"])
    lines = [
        "",
        f"# Flow {name} (written by `bot new flow {name}`): change these texts.",
        f"{name}:",
    ]
    for key, text in texts.items():
        text = text.replace("{key}", f"{name}.{key}").replace("{file}", f"locales/{lang}.yaml")
        quoted = json.dumps(text, ensure_ascii=False)
        lines.append(f"  {key}: {quoted}")
    return "\n".join(lines) + "\n"


def write_flow(name: str, settings: Settings, locales: Locales) -> Scaffold:
    """Write the flow, its texts in every language of ``locales`` and its test.

    Call :func:`check_name` first. On an error while writing, what was written is undone.

    Raises:
        OSError: A file cannot be written.
    """
    done = Scaffold()
    try:
        for lang in locales.languages:
            path = settings.locales_dir / f"{lang}.yaml"
            before = path.read_text(encoding="utf-8")
            done.appended[path] = before
            separator = "" if not before or before.endswith("\n") else "\n"
            path.write_text(before + separator + locale_block(name, lang), encoding="utf-8")
        flow = settings.flows_dir / f"{name}.yaml"
        done.created.append(flow)
        flow.write_text(flow_text(name), encoding="utf-8")
        tests = settings.flows_dir / "tests"
        tests.mkdir(exist_ok=True)
        test = tests / f"{name}.yaml"
        done.created.append(test)
        test.write_text(test_text(name, locales), encoding="utf-8")
    except OSError:
        done.undo()
        raise
    return done
