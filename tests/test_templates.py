"""Text templates: slots, format specs, plural-aware phrases, and syntax errors."""

from __future__ import annotations

import pytest

from bot import templates

PIZZAS = "{n, plural, =0 {ninguna pizza} one {# pizza} other {# pizzas}}"


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [
        (0, "es", "ninguna pizza"),
        (1, "es", "1 pizza"),
        (3, "es", "3 pizzas"),
        (1500, "es", "1.500 pizzas"),
        (1500, "en", "1,500 pizzas"),
        (2.0, "en", "2 pizzas"),
    ],
)
def test_plural_branches_follow_the_languages_rules(n: float, lang: str, expected: str) -> None:
    assert templates.render(PIZZAS, {"n": n}, lang) == expected


def test_slots_format_specs_braces_and_missing_values() -> None:
    values = {"name": "Ana", "price": 3.5, "count": 2}
    text = "Hola {name}: {price:.2f} {{x}} {missing} {count, plural, one {# ítem} other {# ítems}}"
    assert templates.render(text, values, "es") == "Hola Ana: 3.50 {x} {missing} 2 ítems"


def test_names_lists_the_slots_a_template_reads() -> None:
    assert templates.names("Hi {name}, {n, plural, one {# {unit}} other {#}}") == {
        "name",
        "n",
        "unit",
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hola {name", "'{' is never closed"),
        ("Hola }", "'}' without '{'"),
        ("{n, plural, one {x}}", "needs an 'other' branch"),
        ("{n, plural, uno {x} other {y}}", "unknown plural category 'uno'"),
        ("{n, select, a {x} other {y}}", "expected {slot, plural"),
        ("{a b}", "is not a slot name"),
    ],
)
def test_syntax_errors_are_found_when_flows_load(template: str, message: str) -> None:
    with pytest.raises(templates.TemplateError, match=message):
        templates.check(template)


def test_render_never_raises() -> None:
    assert templates.render("Hola {name", {"name": "Ana"}, "es") == "Hola {name"


@pytest.mark.parametrize(
    ("template", "lang", "expected"),
    [
        ("{day:date}", "es", "22 de noviembre de 2026"),
        ("{day:date:full}", "en", "Sunday, November 22, 2026"),
        ("{day:date:short}", "es", "22/11/26"),
        ("{name:date}", "es", "Ana"),  # not a date: written as is
    ],
)
def test_date_slots_are_written_in_the_replys_language(
    template: str, lang: str, expected: str
) -> None:
    assert templates.render(template, {"day": "2026-11-22", "name": "Ana"}, lang) == expected
