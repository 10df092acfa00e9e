"""Answer parsing per slot type: what users type (or tap) and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.flows.slots import (
    parse_choice,
    parse_date,
    parse_email,
    parse_number,
    parse_phone,
    parse_yes_no,
    region_of,
)

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("mañana", "2026-11-22"),
        ("pasado mañana", "2026-11-23"),
        ("hoy", "2026-11-21"),
        ("15/12", "2026-12-15"),
        ("15 de diciembre", "2026-12-15"),
        ("el próximo lunes", "2026-11-23"),
        ("el lunes", "2026-11-23"),
        ("viernes que viene", "2026-11-27"),
        ("el 5", "2026-12-05"),
        ("en 3 días", "2026-11-24"),
        ("tomorrow", "2026-11-22"),
        ("next Monday", "2026-11-23"),
        ("December 15th", "2026-12-15"),
        ("2027-01-31", "2027-01-31"),
        ("31/02", None),
        ("Juan", None),
        ("nada", None),
    ],
)
def test_dates_in_spanish_and_english_relative_to_the_clock(
    answer: str, expected: str | None
) -> None:
    assert parse_date(answer, "es", SATURDAY_NOON) == expected
    assert parse_date(answer, "en", SATURDAY_NOON) == expected


@pytest.mark.parametrize(
    ("answer", "lang", "expected"),
    [
        ("3", "es", 3),
        ("2 pizzas", "es", 2),
        ("3,5", "es", 3.5),
        ("3.5", "es", 3.5),
        ("1.000", "es", 1000),
        ("1.000", "en", 1.0),
        ("1,000", "en", 1000),
        ("1.234,5", "es", 1234.5),
        ("-2", "en", -2),
        ("nada", "es", None),
    ],
)
def test_numbers_with_either_decimal_mark(answer: str, lang: str, expected: float | None) -> None:
    assert parse_number(answer, lang) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("somos cuatro", 4),
        ("Somos Cuatro!", 4),
        ("twelve", 12),
        ("una docena", 12),
        ("a dozen", 12),
        ("dos docenas", 24),
        ("half a dozen", 6),
        ("media docena", 6),
        ("a couple", 2),
        ("un par", 2),
        ("dos pizzas", 2),
        ("dos", 2),
        ("veintitrés", 23),
        ("cuarenta y dos", 42),
        ("twenty-one", 21),
        ("one hundred", 100),
        ("dos mil quinientos", 2500),
        ("tres coma cinco", 3.5),
        ("three point five", 3.5),
        ("somos 4", 4),
        ("una pizza", 1),
        # not one number: alternatives, ranges, asking to wait
        ("2 o 3", None),
        ("dos o tres", None),
        ("five to ten", None),
        ("un momento", None),
        ("one sec", None),
        ("unos cuantos", None),
    ],
)
def test_numbers_in_words_in_either_language(answer: str, expected: float | None) -> None:
    assert parse_number(answer, "es") == expected
    assert parse_number(answer, "en") == expected


def test_numbers_in_words_in_a_language_text2num_does_not_read() -> None:
    assert parse_number("somos cuatro", "qu") == 4
    assert parse_number("twelve", "qu") == 12


def test_integer_numbers_refuse_decimals() -> None:
    assert parse_number("2,5", "es", integer=True) is None
    assert parse_number("2", "es", integer=True) == 2


@pytest.mark.parametrize(
    ("answer", "region", "expected"),
    [
        ("+54 9 11 5555-0001", None, "+5491155550001"),
        ("011 15 5555-0001", "AR", "+5491155550001"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("+1 650 253 0000", "AR", "+16502530000"),
        ("555", "AR", None),
        ("11 5555 0001", None, None),
        ("call me", "AR", None),
    ],
)
def test_phones_are_normalized_to_e164(
    answer: str, region: str | None, expected: str | None
) -> None:
    assert parse_phone(answer, region) == expected


def test_the_users_own_number_tells_the_region() -> None:
    assert region_of("5491155550001") == "AR"
    assert region_of("16502530000") == "US"
    assert region_of("1") is None


def test_emails_are_normalized() -> None:
    assert parse_email(" <Ana@Example.COM> ") == "Ana@example.com"
    assert parse_email("ana at example") is None


OPTIONS = [
    ("basic", ["Básico", "Basic"]),
    ("pro", ["Pro", "Pro"]),
    ("enterprise", ["Empresa", "Enterprise"]),
]


@pytest.mark.parametrize(
    ("answer", "payload", "expected"),
    [
        ("Pro", "pro", "pro"),  # a tap
        ("whatever", "enterprise", "enterprise"),  # the tapped id wins over its title
        ("basico", None, "basic"),  # a title without its accent
        ("BASIC", None, "basic"),  # a title in the other language
        ("2", None, "pro"),  # a number
        ("3.", None, "enterprise"),
        ("el plan pro por favor", None, "pro"),  # a title among other words
        ("Entreprise", None, "enterprise"),  # a close misspelling
        ("Basik", None, "basic"),
        ("4", None, None),
        ("no sé", None, None),
        ("", None, None),
    ],
)
def test_a_choice_is_selected_by_tap_title_number_or_misspelling(
    answer: str, payload: str | None, expected: str | None
) -> None:
    assert parse_choice(answer, payload, OPTIONS) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("la segunda", "pro"),
        ("La Segunda opción", "pro"),
        ("the 2nd", "pro"),
        ("the second one", "pro"),
        ("second one", "pro"),
        ("2º", "pro"),
        ("#2", "pro"),
        ("opción 2", "pro"),
        ("number 2", "pro"),
        ("dos", "pro"),
        ("two", "pro"),
        ("la primera", "basic"),
        ("first", "basic"),
        ("the last one", "enterprise"),
        ("la última", "enterprise"),
        ("la ultima", "enterprise"),
        ("la penúltima", "pro"),
        ("third", "enterprise"),
        ("the fourth", None),  # out of range
        ("la cuarta", None),
        ("the one", None),  # which one?
    ],
)
def test_a_choice_is_selected_by_its_position_in_words(answer: str, expected: str | None) -> None:
    assert parse_choice(answer, None, OPTIONS) == expected


TIMES = [
    ("t20", ["8:00 pm", "8:00 p. m."]),
    ("t22", ["10:00 pm", "10:00 p. m."]),
    ("t2230", ["10:30 pm", "10:30 p. m."]),
]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("10pm", "t22"),
        ("10 PM", "t22"),
        ("10 p.m.", "t22"),
        ("22:00", "t22"),
        ("22 hs", "t22"),
        ("22h", "t22"),
        ("a las 10 de la noche", "t22"),
        ("10:00", "t22"),  # no option at 10:00 am
        ("10:30pm", "t2230"),
        ("8pm", "t20"),
        ("20:00", "t20"),
        ("10am", None),  # no such time
        ("9pm", None),
        ("10", None),  # a bare number is a position, and there is no 10th
    ],
)
def test_a_choice_is_selected_by_the_time_in_its_title(answer: str, expected: str | None) -> None:
    assert parse_choice(answer, None, TIMES) == expected


def test_a_time_that_fits_two_options_is_ambiguous() -> None:
    options = [("am", ["10:00 am"]), ("pm", ["10:00 pm"])]
    assert parse_choice("10:00", None, options) is None
    assert parse_choice("10 am", None, options) == "am"
    assert parse_choice("22:00", None, options) == "pm"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("PLAN EMPRESA", "enterprise"),
        ("plan básico", "basic"),
        ("empresa", "enterprise"),  # whole words of one title
        ("Enterprize", "enterprise"),  # a close misspelling
        ("plan", None),  # words of every title: ambiguous
        ("quiero el plan", None),
    ],
)
def test_a_choice_is_selected_by_words_of_one_title(answer: str, expected: str | None) -> None:
    options = [
        ("basic", ["Plan Básico", "Basic plan"]),
        ("pro", ["Plan Pro", "Pro plan"]),
        ("enterprise", ["Plan Empresa", "Enterprise plan"]),
    ]
    assert parse_choice(answer, None, options) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("sí", True),
        ("si, claro", True),
        ("dale", True),
        ("Yes please", True),
        ("no", False),
        ("No, gracias", False),
        ("nope", False),
        ("tal vez", None),
    ],
)
def test_yes_no_words_in_both_languages(answer: str, expected: bool | None) -> None:
    assert parse_yes_no(answer, None, ["Sí", "Yes"], ["No"]) is expected


def test_a_yes_no_tap_uses_its_id() -> None:
    assert parse_yes_no("Sí", "no", ["Sí"], ["No"]) is False
