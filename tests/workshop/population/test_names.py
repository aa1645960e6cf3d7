"""The name and place tables: pinyin spelling, Guangzhou's district codes."""

from __future__ import annotations

from datetime import date

import pytest

from kernel.resident_id import make_resident_id, parse_resident_id
from workshop.population.names import DISTRICT_BY_CODE, DISTRICTS, GIVEN, SURNAMES, join_pinyin


@pytest.mark.parametrize(
    ("syllables", "word"),
    [(["Fang"], "Fang"), (["Zi", "Han"], "Zihan"), (["Xiao", "An"], "Xiao'an"), (["Si", "En"], "Si'en")],
)
def test_pinyin_joins_a_given_name_with_an_apostrophe_before_a_vowel(syllables, word):
    assert join_pinyin(syllables) == word


def test_every_district_is_a_guangzhou_address_code_that_makes_valid_resident_ids():
    assert len(DISTRICT_BY_CODE) == len(DISTRICTS)
    assert len({district.name for district in DISTRICTS}) == len(DISTRICTS)
    for district in DISTRICTS:
        assert district.code.startswith("4401")  # Guangzhou, Guangdong
        assert district.streets and district.weight > 0
        resident_id = make_resident_id(district.code, date(1990, 1, 2), 233)
        assert parse_resident_id(resident_id, today=date(2026, 1, 1)).province == "Guangdong"


def test_names_are_written_in_characters_and_in_latin_letters():
    for syllable in [surname for surname, _ in SURNAMES] + [*GIVEN["female"], *GIVEN["male"]]:
        assert syllable.hanzi and all("\u4e00" <= character <= "\u9fff" for character in syllable.hanzi)
        assert syllable.latin.isascii() and syllable.latin.isalpha() and syllable.latin[0].isupper()
