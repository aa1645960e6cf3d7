"""The synthetic residents: deterministic, a larger population extends a smaller one, and each
resident is consistent (ID, birth date, sex, district, marriage, car, conditions) and unique."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

import pytest

from kernel.personas import DEMO_PASSWORD, PERSONAS
from kernel.resident_id import age_on, parse_resident_id
from workshop.population.conditions import TREATMENTS, treatment_for
from workshop.population.drawing import MARRIAGE_AGE, OLDEST
from workshop.population.names import DISTRICT_BY_CODE
from workshop.population.people import MAX_COUNT, RESERVED_PLATES, Resident, couples, generate, totp_secret_for

TODAY = date(2026, 11, 23)
SEED = 1
SIZE = 2_000
CJK = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
PINYIN_NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z']+$")
PHONE = re.compile(r"^\+861[3-9]\d{9}$")
PLATE = re.compile(r"^粤A[0-9A-HJ-NP-Z]{5}$")


@pytest.fixture(scope="module")
def population() -> list[Resident]:
    return generate(SIZE, seed=SEED, today=TODAY)


def share(part: int, whole: int) -> float:
    return part / whole


def test_the_same_seed_gives_the_same_people_and_another_seed_others():
    first = generate(300, seed=5, today=TODAY)
    assert generate(300, seed=5, today=TODAY) == first
    other = generate(300, seed=6, today=TODAY)
    assert other != first
    assert not {r.resident_id for r in first} & {r.resident_id for r in other}
    assert not {r.phone for r in first} & {r.phone for r in other}


def test_the_global_random_generator_is_neither_used_nor_disturbed():
    random.seed(1)
    state = random.getstate()
    first = generate(50, seed=9, today=TODAY)
    assert random.getstate() == state
    random.seed(2)
    assert generate(50, seed=9, today=TODAY) == first


def test_a_smaller_population_is_the_beginning_of_a_larger_one(population):
    for count in (0, 1, 2, 3, 137, 1_000, SIZE - 1):
        assert generate(count, seed=SEED, today=TODAY) == population[:count]


def test_a_population_cut_between_two_spouses_names_the_spouse_yet_to_come(population):
    cut = next(k for k in range(1, SIZE) if population[k - 1].spouse == population[k].handle)
    smaller = generate(cut, seed=SEED, today=TODAY)
    assert smaller == population[:cut]
    assert smaller[-1].spouse == population[cut].handle
    assert smaller[-1].handle not in {resident.handle for couple in couples(smaller) for resident in couple}
    assert (population[cut - 1], population[cut]) in couples(population)


def test_every_resident_id_is_valid_and_says_what_the_record_says(population):
    for resident in population:
        parsed = parse_resident_id(resident.resident_id, today=TODAY)
        assert parsed.value == resident.resident_id
        assert (parsed.birth_date, parsed.sex) == (resident.birth_date, resident.sex)
        district = DISTRICT_BY_CODE[parsed.address_code]
        assert district.name == resident.district
        assert f"{district.name} District, Guangzhou" in resident.address
        assert resident.address.startswith(f"广州市{district.hanzi}")


def test_ages_run_from_0_to_90_with_about_one_minor_in_eight(population):
    ages = [resident.age_on(TODAY) for resident in population]
    assert min(ages) >= 0 and max(ages) <= OLDEST
    assert min(ages) < 3 and max(ages) > 80  # both ends are drawn
    assert all(
        resident.age_on(TODAY) == age_on(parse_resident_id(resident.resident_id), TODAY) for resident in population
    )
    minors = [resident for resident in population if resident.is_minor(TODAY)]
    assert 0.09 <= share(len(minors), SIZE) <= 0.15
    assert all(resident.age_on(TODAY) < 18 for resident in minors)


def test_handles_ids_phones_and_plates_are_unique_and_well_formed(population):
    handles = [resident.handle for resident in population]
    assert handles == [f"r{index:05d}" for index in range(1, SIZE + 1)]
    for values in (
        [resident.resident_id for resident in population],
        [resident.phone for resident in population],
        [resident.plate for resident in population if resident.plate],
    ):
        assert len(set(values)) == len(values)
    assert all(PHONE.match(resident.phone) for resident in population)
    assert all(PLATE.match(resident.plate) for resident in population if resident.plate)


def test_nothing_is_a_demo_personas(population):
    for attribute in ("handle", "resident_id", "phone", "plate"):
        personas = {getattr(persona, attribute) for persona in PERSONAS} - {None}
        assert not personas & {getattr(resident, attribute) for resident in population}
    assert not RESERVED_PLATES & {resident.plate for resident in population}


def test_spouses_name_each_other_and_married_of_age_on_the_same_day(population):
    by_handle = {resident.handle: resident for resident in population}
    married = [resident for resident in population if resident.spouse]
    assert all(resident.spouse in by_handle for resident in married[:-1])
    for resident in married:
        if resident.spouse not in by_handle:  # only the last one may wait for the next to be drawn
            assert resident is population[-1]
            continue
        spouse = by_handle[resident.spouse]
        assert spouse.spouse == resident.handle
        assert spouse.married_on == resident.married_on is not None
        assert {resident.sex, spouse.sex} == {"female", "male"}
        assert resident.married_on <= TODAY
        for person in (resident, spouse):
            assert (
                age_on(parse_resident_id(person.resident_id, today=TODAY), resident.married_on)
                >= MARRIAGE_AGE[person.sex]
            )
    assert all(resident.married_on is None for resident in population if not resident.spouse)
    adults = [resident for resident in population if not resident.is_minor(TODAY)]
    assert 0.40 <= share(sum(1 for resident in adults if resident.spouse), len(adults)) <= 0.50


def test_couples_lists_each_couple_once(population):
    found = couples(population)
    assert len(found) == sum(1 for resident in population if resident.spouse) // 2
    assert all(first.spouse == second.handle and second.spouse == first.handle for first, second in found)
    assert len({resident.handle for couple in found for resident in couple}) == 2 * len(found)


def test_about_three_adults_in_ten_have_a_car_and_no_minor_has(population):
    adults = [resident for resident in population if not resident.is_minor(TODAY)]
    assert 0.25 <= share(sum(1 for resident in adults if resident.plate), len(adults)) <= 0.35
    assert not [resident for resident in population if resident.is_minor(TODAY) and resident.plate]


def test_about_a_quarter_are_treated_for_conditions_of_their_age(population):
    treated = [resident for resident in population if resident.conditions]
    assert 0.20 <= share(len(treated), SIZE) <= 0.30
    formulary = {treatment.condition for treatment in TREATMENTS}
    for resident in treated:
        assert set(resident.conditions) <= formulary
        assert len(set(resident.conditions)) == len(resident.conditions)
        assert all(treatment_for(c).min_age <= resident.age_on(TODAY) for c in resident.conditions)


def test_most_names_are_chinese_with_their_pinyin_and_some_are_foreign(population):
    foreign = [resident for resident in population if resident.name == resident.latin_name]
    assert 0.03 <= share(len(foreign), SIZE) <= 0.07
    assert all(not CJK.search(resident.name) and len(resident.name.split()) == 2 for resident in foreign)
    for resident in population:
        if resident not in foreign:
            assert CJK.match(resident.name), resident.name
            assert PINYIN_NAME.match(resident.latin_name), resident.latin_name


def test_every_resident_logs_in_with_the_demo_password_and_a_totp_secret_of_their_own(population):
    assert {resident.persona.password for resident in population} == {DEMO_PASSWORD}
    secrets = [resident.persona.totp_secret for resident in population]
    assert all(len(secret) == 20 for secret in secrets)
    assert len(set(secrets)) == SIZE
    assert all(resident.persona.totp_secret == totp_secret_for(SEED, resident.handle) for resident in population)
    assert generate(1, seed=SEED + 1, today=TODAY)[0].persona.totp_secret != secrets[0]


def test_the_day_fixes_birth_dates_so_a_later_day_gives_other_people():
    assert generate(20, seed=SEED, today=TODAY + timedelta(days=1)) != generate(20, seed=SEED, today=TODAY)


@pytest.mark.parametrize("count", [-1, MAX_COUNT + 1, 10**9])
def test_a_population_has_0_to_100_000_residents(count):
    with pytest.raises(ValueError, match="0 to 100,000"):
        generate(count, seed=SEED, today=TODAY)


def test_today_is_a_day_not_an_instant():
    with pytest.raises(TypeError):
        generate(1, seed=SEED, today=datetime(2026, 11, 23))  # noqa: DTZ001 -- the wrong type is the point
