"""The draw: values already taken are drawn again (deterministically), and the calendar of birthdays."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from kernel.resident_id import age_on, make_resident_id, parse_resident_id
from workshop.population.drawing import Taken, anniversary, completed_years, drafts, years_before

TODAY = date(2026, 11, 23)


def first(count: int, reserved: Taken, seed: int = 3) -> list:
    return list(itertools.islice(drafts(seed, TODAY, reserved), count))


def test_a_taken_value_is_never_drawn_and_the_redraw_is_deterministic():
    free = first(60, Taken())
    with_plates = [draft for draft in free if draft.plate]
    reserved = Taken(
        handles={free[0].handle, free[2].handle},
        resident_ids={free[1].resident_id},
        phones={free[3].phone},
        plates={with_plates[0].plate},
    )
    redrawn = first(60, reserved)
    assert redrawn == first(60, reserved)
    assert redrawn != free
    assert [draft.handle for draft in redrawn[:2]] == [free[1].handle, free[3].handle]  # r00001, r00003 skipped
    assert not reserved.resident_ids & {draft.resident_id for draft in redrawn}
    assert not reserved.phones & {draft.phone for draft in redrawn}
    assert not reserved.plates & {draft.plate for draft in redrawn}
    assert reserved == Taken(
        {free[0].handle, free[2].handle}, {free[1].resident_id}, {free[3].phone}, {with_plates[0].plate}
    )  # the caller's sets are left as they were


@pytest.mark.parametrize(
    ("born", "day"),
    [
        (date(2000, 2, 29), date(2001, 2, 28)),
        (date(2000, 2, 29), date(2001, 3, 1)),
        (date(2000, 2, 29), date(2004, 2, 29)),
        (date(1990, 8, 23), date(2012, 8, 22)),
        (date(1990, 8, 23), date(2012, 8, 23)),
    ],
)
def test_ages_are_counted_as_the_resident_id_module_counts_them(born, day):
    parsed = parse_resident_id(make_resident_id("440106", born, 1), today=day)
    assert completed_years(born, day) == age_on(parsed, day)


@pytest.mark.parametrize("born", [date(2000, 2, 29), date(1990, 8, 23), date(1999, 12, 31)])
@pytest.mark.parametrize("years", [1, 18, 20, 22])
def test_the_anniversary_is_the_first_day_of_the_completed_years(born, years):
    day = anniversary(born, years)
    assert completed_years(born, day) == years
    assert completed_years(born, date.fromordinal(day.toordinal() - 1)) == years - 1


def test_years_before_a_29_february_is_the_28th():
    assert years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
    assert years_before(date(2028, 2, 29), 4) == date(2024, 2, 29)
    assert years_before(TODAY, 18) == date(2008, 11, 23)
