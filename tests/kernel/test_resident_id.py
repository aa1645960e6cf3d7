"""GB 11643-1999 resident identity numbers: the standard's examples, every typo, every way to be wrong."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.resident_id import (
    PROVINCES,
    InvalidResidentId,
    ResidentId,
    age_on,
    check_character,
    make_resident_id,
    parse_resident_id,
)

# The two examples printed in GB 11643-1999.
BEIJING_EXAMPLE = "11010519491231002X"
GUANGDONG_EXAMPLE = "440524188001010014"
EXAMPLES = [BEIJING_EXAMPLE, GUANGDONG_EXAMPLE]
TODAY = date(2026, 11, 23)


def test_the_standards_examples_are_valid_and_parse_into_their_parts():
    assert parse_resident_id(BEIJING_EXAMPLE, today=TODAY) == ResidentId(
        value=BEIJING_EXAMPLE, address_code="110105", birth_date=date(1949, 12, 31), sequence=2, sex="female"
    )
    assert parse_resident_id(GUANGDONG_EXAMPLE, today=TODAY) == ResidentId(
        value=GUANGDONG_EXAMPLE, address_code="440524", birth_date=date(1880, 1, 1), sequence=1, sex="male"
    )
    assert parse_resident_id(BEIJING_EXAMPLE).province == "Beijing"
    assert check_character(BEIJING_EXAMPLE[:17]) == "X"
    assert check_character(GUANGDONG_EXAMPLE[:17]) == "4"


def test_a_lower_case_x_is_accepted_and_normalised():
    resident = parse_resident_id(BEIJING_EXAMPLE.lower(), today=TODAY)
    assert resident.value == BEIJING_EXAMPLE
    assert str(resident) == BEIJING_EXAMPLE


def _single_substitutions(value: str):
    for position, original in enumerate(value):
        alphabet = "0123456789X" if position == len(value) - 1 else "0123456789"
        for replacement in alphabet:
            if replacement != original:
                yield position, value[:position] + replacement + value[position + 1 :]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_single_substitution_of_an_example_is_rejected(example: str):
    altered = list(_single_substitutions(example))
    assert len(altered) == 17 * 9 + 10
    for position, value in altered:
        with pytest.raises(InvalidResidentId):
            parse_resident_id(value, today=TODAY)
        # Rejected by the checksum itself, not only by a date or province that happens to break:
        # MOD 11-2 gives every one of the 17 digits a weight that is a unit modulo 11.
        if position < 17:
            assert check_character(value[:17]) != example[-1], value


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_wrong_check_character_names_the_expected_one(example: str):
    wrong = "0" if example[-1] != "0" else "1"
    with pytest.raises(InvalidResidentId, match=f"must be '{example[-1]}'"):
        parse_resident_id(example[:-1] + wrong, today=TODAY)


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (_with_check("11010519990230002"), "19990230 .* not a date"),
        (_with_check("11010520230229002"), "20230229 .* not a date"),
        (_with_check("11010519991301002"), "19991301 .* not a date"),
        (_with_check("11010520261124002"), "2026-11-24 is in the future"),
        (
            _with_check("99010519491231002"),
            "unknown province '99'.*11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82, 83",
        ),
        (_with_check("16010519491231002"), "unknown province '16'"),
        (_with_check("00010519491231002"), "unknown province '00'"),
        ("11010519491231002", "18 characters, got 17"),
        ("11010519491231002XX", "18 characters, got 19"),
        ("", "18 characters, got 0"),
        ("1101051949123100AX", r"position 17 \('A'\)"),
        ("11010519491231002Y", r"position 18 \('Y'\)"),
        ("x10105194912310023", r"position 1 \('x'\)"),
        ("11010519491231002 ", r"position 18 \(' '\)"),
        ("\uff11\uff110105194912310021", "position 1 \\('\uff11'\\), 2 \\('\uff11'\\)"),  # full-width digits
    ],
)
def test_invalid_numbers_are_rejected_with_a_message_saying_why(value: str, message: str):
    with pytest.raises(InvalidResidentId, match=message):
        parse_resident_id(value, today=TODAY)


def test_born_today_is_not_in_the_future():
    value = make_resident_id("440106", TODAY, 1)
    assert parse_resident_id(value, today=TODAY).birth_date == TODAY
    with pytest.raises(InvalidResidentId, match="in the future"):
        parse_resident_id(value, today=TODAY - timedelta(days=1))


def test_making_a_number_checks_its_parts():
    with pytest.raises(InvalidResidentId, match="unknown province"):
        make_resident_id("990105", date(1990, 1, 1), 1)
    with pytest.raises(InvalidResidentId, match="6 digits"):
        make_resident_id("44010", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="0-999"):
        make_resident_id("440106", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError, match="0-999"):
        make_resident_id("440106", date(1990, 1, 1), -1)


def test_age_counts_completed_years():
    resident = parse_resident_id(BEIJING_EXAMPLE, today=TODAY)  # born 1949-12-31
    assert age_on(resident, date(1949, 12, 31)) == 0
    assert age_on(resident, date(1967, 12, 30)) == 17
    assert age_on(resident, date(1967, 12, 31)) == 18
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(resident, date(1949, 12, 30))


def test_a_leap_day_birthday_completes_the_year_on_the_first_of_march():
    resident = parse_resident_id(make_resident_id("440105", date(2008, 2, 29), 2), today=TODAY)
    assert age_on(resident, date(2026, 2, 28)) == 17
    assert age_on(resident, date(2026, 3, 1)) == 18
    assert age_on(resident, date(2028, 2, 29)) == 20


@given(
    address_code=st.builds(
        lambda province, rest: province + f"{rest:04d}", st.sampled_from(sorted(PROVINCES)), st.integers(0, 9999)
    ),
    birth_date=st.dates(min_value=date(1000, 1, 1), max_value=TODAY),
    sequence=st.integers(0, 999),
)
def test_every_made_number_parses_back_to_its_parts(address_code: str, birth_date: date, sequence: int):
    value = make_resident_id(address_code, birth_date, sequence)
    resident = parse_resident_id(value, today=TODAY)
    assert resident.value == value
    assert (resident.address_code, resident.birth_date, resident.sequence) == (address_code, birth_date, sequence)
    assert resident.sex == ("male" if sequence % 2 else "female")
    assert parse_resident_id(value.lower(), today=TODAY) == resident
