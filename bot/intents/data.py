"""Loading and validating ``intents/<lang>.yaml`` files.

A file holds one language's intents plus the small word lists the classifier's guards use::

    language: es                  # required; must match the file name (es.yaml)
    intents:                      # required; intent name (or Spanish alias) → definition
      greet:                      # aliases: saludo → greet, despedida → goodbye,
        examples: [hola, buenas]  #   cancelacion/cancelación → cancel
                                  # "(a|b|)" gives alternatives: "que (tengas|tenga) (un|) buen
                                  #   día" is four examples; an empty one makes a word optional
        keywords: [hola]          # optional: words that signal the intent anywhere in a message
        context: [gente]          # optional: words that often come with the intent's phrases
                                  #   but mean nothing alone ("cancela esto", "que tengas
                                  #   una linda tarde"): they never trigger the intent, they
                                  #   only count as explained when one of its phrases is there
        threshold: 0.8            # optional: minimum confidence (default: the classifier's, 0.75)
        threshold_in_flow: 0.9    # optional: minimum while the user answers a free-text question
        closing: false            # optional: ends the conversation (default: goodbye, cancel)
        deferrable: false         # optional: "later"/"mañana" means not now (default: cancel)
        priority: 0               # optional: higher wins within a sentence (defaults: greet 0,
                                  #   author intents 1, goodbye/cancel 2); across sentences
                                  #   the last wins, priority <= 0 never beats another intent
        guarded: false            # optional: questions, conditionals, deferrals and past
                                  #   reports veto it like a closing intent (default: closing)
        confirm_floor: 0.5        # optional, closing intents: a confidence in [confirm_floor,
                                  #   threshold) makes the classifier ask (``confirm``)
        shouted: [STOP]           # optional: whole messages, matched case-sensitively (an SMS
                                  #   keyword in capitals), that mean the intent
        alone: [pará]             # optional: the intent only as a whole clause, fillers aside
                                  #   ("por favor, pará"; "para" inside a sentence is "for")
        farewell: true            # optional: said, not asked for (default: goodbye): no
                                  #   condition, past form or object before it vetoes it
        objects: [pedido]         # optional, author intents: business objects it is about: a
                                  #   cancel the guards hold beside one is this intent
                                  #   ("cancelá el pedido de la remera")
      none:                       # optional: phrases that are never an intent ("bus stop")
        examples: [parada de bus]
    abbreviations: {q: que}       # optional: chat shorthand → words
    fillers: [por favor]          # optional, like every other word list: a YAML list of
    negations: ["no"]             #   phrases ("(a|b)" alternatives too) under a top-level key

The word lists (:data:`WORD_LISTS`: fillers, negations, answers, contrasts, waits, ...
making, processes) are what the guards read; docs/intents.md ("Writing intent data") says
what each one does, with an example, and each list's comment in ``intents/*.yaml`` says it.

Everything is validated at load time; a problem raises :class:`~bot.errors.DataFileError`
naming the file and the 1-based line and column of the offending node. Parsing is
:func:`bot.yamlfile.load_yaml`, shared with the flow and locale loaders.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from bot.errors import DataFileError
from bot.intents.cachefile import PickledAsFields
from bot.intents.names import canonical_intent, is_valid_intent_name
from bot.intents.result import CANCEL, CLOSING_INTENTS, GOODBYE, GREET
from bot.yamlfile import load_yaml, where

Pos = tuple[int | None, int | None]
"""1-based (line, column) of a YAML node; ``(None, None)`` when unknown."""


MAX_ALTERNATIVES = 500
"""Most phrases one entry may expand to with ``(a|b)`` groups."""
_GROUP_RE = re.compile(r"\(([^()]*)\)")

_INTENT_KEYS = frozenset(
    {
        "examples",
        "keywords",
        "context",
        "threshold",
        "threshold_in_flow",
        "closing",
        "deferrable",
        "priority",
        "guarded",
        "confirm_floor",
        "shouted",
        "alone",
        "objects",
        "farewell",
    }
)


@dataclass(frozen=True, slots=True)
class Phrase(PickledAsFields):
    """One example, keyword or word-list entry and where it was written (1-based)."""

    text: str
    line: int | None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """One intent as a flow author defined it for one language.

    Attributes:
        name: Canonical name (aliases resolved), or ``"none"`` for anti-examples.
        examples: Whole messages that mean the intent; at least one.
        keywords: Words or short phrases that signal the intent even inside a longer message.
        threshold: Minimum confidence, or ``None`` for the classifier's default.
        threshold_in_flow: Minimum confidence while the user answers a free-text question, or
            ``None`` for the default (0.9 for closing intents, ``threshold`` otherwise).
        closing: True when the intent ends the conversation (goodbye, cancel).
        deferrable: True when a deferral word ("later", "mañana") means "not now" (cancel);
            false for goodbye, where "see you tomorrow" is still a goodbye.
        priority: Rank among intents found in one message; higher wins (greet 0, closing
            intents 2, others 1).
        line: 1-based line of the intent's key.
        context: Words or short phrases that may accompany the intent's phrases ("esto",
            "el chat", "linda tarde") without being evidence of it on their own.
        guarded: True when questions, conditionals, deferrals (if ``deferrable``) and past
            reports veto the intent, as for closing intents ("can I cancel my order?" asks
            about it); defaults to ``closing``.
        confirm_floor: For a closing intent, the lowest confidence at which the classifier
            asks the user (``IntentResult.confirm``) instead of ignoring it; ``None`` never
            asks.
        shouted: Whole messages matched case-sensitively, punctuation aside ("STOP"), that
            mean the intent whatever their words mean in lower case.
        alone: Phrases that mean the intent only when they are a whole clause, fillers
            aside, matched like examples (accents optional): "pará", "para ya" ("para" in a
            sentence is the preposition); in a question only for an unguarded intent
            ("wagwan?"). The semantic head does not train on them (words borrowed from
            other languages: "namaste", "khuda hafiz").
        farewell: True when the intent is said, not asked for (goodbye, the default there):
            a condition in the clause before supposes nothing ("if I need anything I'll
            write, bye"), its past thanks for what was done ("me ayudaste mucho"), a business
            object vetoes it only right after it ("that's all for the booking"), and an
            answer word before it answers ("nope, that's all, bye").
        objects: Business objects an author intent is about ("pedido", "order"): a cancel
            the guards hold as being about one of them is this intent ("cancel the dog food
            order"), and so is a phrase of the intent beside one, however long the object's
            description ("cancela esse pedido do remédio do gato").
    """

    name: str
    examples: tuple[Phrase, ...]
    keywords: tuple[Phrase, ...]
    threshold: float | None
    threshold_in_flow: float | None
    closing: bool
    deferrable: bool
    priority: int
    line: int | None
    context: tuple[Phrase, ...] = ()
    guarded: bool = False
    confirm_floor: float | None = None
    shouted: tuple[Phrase, ...] = ()
    alone: tuple[Phrase, ...] = ()
    objects: tuple[Phrase, ...] = ()
    farewell: bool = False


@dataclass(frozen=True, slots=True)
class LanguageData:
    """Everything one ``<lang>.yaml`` file defines.

    Attributes:
        language: Language code, e.g. ``"es"``.
        path: The file, as given to :func:`load_language_file`.
        intents: Canonical name → definition, in file order (``"none"`` included if present).
        abbreviations: Shorthand → expansion (``"xq"`` → ``"porque"``), keys lowercased.
        fillers, negations, answers, contrasts, waits, go_aheads, farewells, thanks,
            corrections, question_words, conditionals, deferrals, postponements, subordinators,
            determiners, time_nouns, demonstratives, mentions, past, names, request_openers,
            business_objects, possessives, own_words, articles, common_verbs, messaging,
            further, redirects, instructions, pronouns, partials, meetings, subjects,
            subject_questions, ordering, referring, wanting, stopping, making, relatives,
            progressives, processes, reasons, politeness, acknowledgements, submissions, sending,
            resumptions, callbacks:
            Word lists for the guards (see the module docstring).
        opt_in: Whole messages that opt a user back in after an opt-out (``"alta"``,
            ``"start"``), as written; compared case- and accent-insensitively.
    """

    language: str
    path: str
    intents: Mapping[str, IntentSpec]
    abbreviations: Mapping[str, Phrase]
    fillers: tuple[Phrase, ...] = ()
    negations: tuple[Phrase, ...] = ()
    question_words: tuple[Phrase, ...] = ()
    conditionals: tuple[Phrase, ...] = ()
    deferrals: tuple[Phrase, ...] = ()
    postponements: tuple[Phrase, ...] = ()
    subordinators: tuple[Phrase, ...] = ()
    determiners: tuple[Phrase, ...] = ()
    time_nouns: tuple[Phrase, ...] = ()
    demonstratives: tuple[Phrase, ...] = ()
    mentions: tuple[Phrase, ...] = ()
    past: tuple[Phrase, ...] = ()
    names: tuple[Phrase, ...] = ()
    request_openers: tuple[Phrase, ...] = ()
    business_objects: tuple[Phrase, ...] = ()
    possessives: tuple[Phrase, ...] = ()
    own_words: tuple[Phrase, ...] = ()
    articles: tuple[Phrase, ...] = ()
    common_verbs: tuple[Phrase, ...] = ()
    messaging: tuple[Phrase, ...] = ()
    further: tuple[Phrase, ...] = ()
    redirects: tuple[Phrase, ...] = ()
    instructions: tuple[Phrase, ...] = ()
    pronouns: tuple[Phrase, ...] = ()
    partials: tuple[Phrase, ...] = ()
    meetings: tuple[Phrase, ...] = ()
    subjects: tuple[Phrase, ...] = ()
    subject_questions: tuple[Phrase, ...] = ()
    ordering: tuple[Phrase, ...] = ()
    referring: tuple[Phrase, ...] = ()
    wanting: tuple[Phrase, ...] = ()
    stopping: tuple[Phrase, ...] = ()
    making: tuple[Phrase, ...] = ()
    relatives: tuple[Phrase, ...] = ()
    progressives: tuple[Phrase, ...] = ()
    reasons: tuple[Phrase, ...] = ()
    processes: tuple[Phrase, ...] = ()
    politeness: tuple[Phrase, ...] = ()
    acknowledgements: tuple[Phrase, ...] = ()
    submissions: tuple[Phrase, ...] = ()
    sending: tuple[Phrase, ...] = ()
    resumptions: tuple[Phrase, ...] = ()
    callbacks: tuple[Phrase, ...] = ()
    opt_in: tuple[Phrase, ...] = ()
    answers: tuple[Phrase, ...] = ()
    contrasts: tuple[Phrase, ...] = ()
    waits: tuple[Phrase, ...] = ()
    go_aheads: tuple[Phrase, ...] = ()
    farewells: tuple[Phrase, ...] = ()
    thanks: tuple[Phrase, ...] = ()
    corrections: tuple[Phrase, ...] = ()


WORD_LISTS = tuple(
    name for name, kind in get_type_hints(LanguageData).items() if kind == tuple[Phrase, ...]
)
"""The guard word lists a language file may hold, each a YAML list of phrases under a
top-level key of the same name (``fillers``, ``negations``, ... ``opt_in``)."""
_TOP_KEYS = frozenset({"language", "intents", "abbreviations", *WORD_LISTS})


def expand_alternatives(text: str) -> list[str]:
    """All phrases written by ``text``'s ``(a|b|c)`` groups, blanks collapsed.

    ``"que (tengas|tenga) (un|) buen día"`` → ``["que tengas un buen día", "que tengas buen
    día", "que tenga un buen día", "que tenga buen día"]``. Text without groups comes back
    alone. Raises ``ValueError`` for a nested or unbalanced parenthesis, or for more than
    :data:`MAX_ALTERNATIVES` phrases.
    """
    parts = _GROUP_RE.split(text)
    literals, groups = parts[0::2], [group.split("|") for group in parts[1::2]]
    if any("(" in literal or ")" in literal for literal in literals):
        raise ValueError("unbalanced or nested parenthesis (write groups as (a|b|c))")
    count = 1
    for group in groups:
        count *= len(group)
    if count > MAX_ALTERNATIVES:
        raise ValueError(f"expands to {count} phrases (at most {MAX_ALTERNATIVES})")
    phrases = []
    for choice in itertools.product(*groups):
        pieces = [literals[0]]
        for alternative, literal in zip(choice, literals[1:], strict=True):
            pieces += [alternative, literal]
        phrases.append(" ".join("".join(pieces).split()))
    return phrases


def load_language_file(path: Path, language: str) -> LanguageData:
    """Load and validate one intent file.

    Args:
        path: The YAML file, e.g. ``intents/es.yaml``.
        language: The language code the file must declare.

    Returns:
        The file's validated content.

    Raises:
        DataFileError: The file is missing, is not valid YAML, or breaks the format (unknown
            key, intent without examples, non-string example, bad threshold, ...). The message
            starts with ``path:line:column``.
    """
    return _Loader(str(path)).load(path, language)


class _Loader:
    """Validation helpers that remember the file name for error messages."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, at: Pos | int | None, problem: str) -> DataFileError:
        line, column = at if isinstance(at, tuple) else (at, None)
        return DataFileError(self.path, line, problem, column)

    def load(self, path: Path, language: str) -> LanguageData:
        if not path.is_file():
            raise self.error(None, f"no intent file for language {language!r}")
        root = load_yaml(path)
        if not isinstance(root, Mapping):
            raise self.error(1, "the file must be a mapping with 'language' and 'intents'")
        for key in root:
            if key not in _TOP_KEYS:
                allowed = ", ".join(sorted(_TOP_KEYS))
                raise self.error(_key_pos(root, key), f"unknown key {key!r} (allowed: {allowed})")
        declared = root.get("language")
        if declared != language:
            at = _key_pos(root, "language") if "language" in root else 1
            raise self.error(at, f"'language' must be {language!r}, found {declared!r}")
        if "intents" not in root:
            raise self.error(1, "missing 'intents'")
        return LanguageData(
            language=language,
            path=self.path,
            intents=self.intents(root["intents"], _key_pos(root, "intents")),
            abbreviations=self.abbreviations(root),
            **{key: self.phrases(root, key) for key in WORD_LISTS},
        )

    def intents(self, node: Any, line: Pos) -> dict[str, IntentSpec]:
        if not isinstance(node, Mapping) or not node:
            raise self.error(line, "'intents' must be a non-empty mapping of intent names")
        specs: dict[str, IntentSpec] = {}
        for key, body in node.items():
            key_line = _key_pos(node, key)
            if not isinstance(key, str):
                raise self.error(key_line, f"intent name must be text, found {key!r}")
            name = canonical_intent(key)
            if not is_valid_intent_name(name):
                raise self.error(
                    key_line, f"invalid intent name {key!r} (use lowercase letters, digits, _)"
                )
            if name in specs:
                raise self.error(key_line, f"intent {name!r} is defined twice (aliases count)")
            specs[name] = self.intent(name, body, key_line)
        return specs

    def intent(self, name: str, body: Any, line: Pos) -> IntentSpec:
        if not isinstance(body, Mapping):
            raise self.error(line, f"intent {name!r} must be a mapping with 'examples'")
        for key in body:
            if key not in _INTENT_KEYS:
                allowed = ", ".join(sorted(_INTENT_KEYS))
                raise self.error(
                    _key_pos(body, key), f"intent {name!r}: unknown key {key!r} ({allowed})"
                )
        examples = self.phrases(body, "examples", owner=f"intent {name!r}", line=line)
        if not examples:
            raise self.error(line, f"intent {name!r} has no examples")
        closing_default = name in CLOSING_INTENTS
        closing = self.boolean(body, "closing", name, closing_default)
        confirm_floor = self.probability(body, "confirm_floor", name)
        if confirm_floor is not None and not closing:
            raise self.error(
                _key_pos(body, "confirm_floor"),
                f"intent {name!r}: 'confirm_floor' is for closing intents only",
            )
        return IntentSpec(
            name=name,
            examples=examples,
            keywords=self.phrases(body, "keywords", owner=f"intent {name!r}"),
            threshold=self.probability(body, "threshold", name),
            threshold_in_flow=self.probability(body, "threshold_in_flow", name),
            closing=closing,
            deferrable=self.boolean(body, "deferrable", name, name == CANCEL),
            priority=self.integer(body, "priority", name, _default_priority(name, closing_default)),
            line=line[0],
            context=self.phrases(body, "context", owner=f"intent {name!r}"),
            guarded=self.boolean(body, "guarded", name, closing),
            confirm_floor=confirm_floor,
            shouted=self.phrases(body, "shouted", owner=f"intent {name!r}"),
            alone=self.phrases(body, "alone", owner=f"intent {name!r}"),
            objects=self.phrases(body, "objects", owner=f"intent {name!r}"),
            farewell=self.boolean(body, "farewell", name, name == GOODBYE),
        )

    def phrases(
        self, node: Mapping[str, Any], key: str, owner: str = "file", line: Pos = (None, None)
    ) -> tuple[Phrase, ...]:
        if key not in node:
            return ()
        seq = node[key]
        seq_line = _known(_key_pos(node, key), line)
        if seq is None:
            return ()
        if not isinstance(seq, list):
            raise self.error(seq_line, f"{owner}: {key!r} must be a list of texts")
        phrases: list[Phrase] = []
        for index, item in enumerate(seq):
            item_line = _known(where(seq, index), seq_line)
            if not isinstance(item, str):
                raise self.error(
                    item_line, f"{owner}: {key!r} entries must be text, found {item!r}"
                )
            if not item.strip():
                raise self.error(item_line, f"{owner}: empty entry in {key!r}")
            try:
                expanded = expand_alternatives(item)
            except ValueError as exc:
                raise self.error(item_line, f"{owner}: {item!r}: {exc}") from exc
            phrases.extend(Phrase(text, *item_line) for text in expanded if text)
        return tuple(phrases)

    def abbreviations(self, root: Mapping[str, Any]) -> dict[str, Phrase]:
        node = root.get("abbreviations")
        line = _key_pos(root, "abbreviations")
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            raise self.error(line, "'abbreviations' must map shorthand to words")
        result: dict[str, Phrase] = {}
        for short, long in node.items():
            key_line = _known(_key_pos(node, short), line)
            if not isinstance(short, str) or not isinstance(long, str) or not long.strip():
                raise self.error(key_line, f"abbreviation {short!r}: both sides must be text")
            result[short.strip().lower()] = Phrase(long, *key_line)
        return result

    def probability(self, node: Mapping[str, Any], key: str, name: str) -> float | None:
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise self.error(
                _key_pos(node, key),
                f"intent {name!r}: {key!r} must be a number in (0, 1], found {value!r}",
            )
        return float(value)

    def boolean(self, node: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            raise self.error(_key_pos(node, key), f"intent {name!r}: {key!r} must be true or false")
        return value

    def integer(self, node: Mapping[str, Any], key: str, name: str, default: int) -> int:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(_key_pos(node, key), f"intent {name!r}: {key!r} must be an integer")
        return value


def _default_priority(name: str, closing: bool) -> int:
    """Greetings lose to everything, flow triggers to closing intents."""
    if name == GREET:
        return 0
    return 2 if closing else 1


def _key_pos(node: Any, key: Any) -> Pos:
    """Position of ``key`` in a ruamel mapping (of the mapping if the key is missing)."""
    return where(node, key)


def _known(pos: Pos, fallback: Pos) -> Pos:
    return pos if pos[0] is not None else fallback
