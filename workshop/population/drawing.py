"""Drawing residents one after another from one seeded generator (``people.generate`` makes them Residents).

Every value is drawn from ``random.Random(seed)`` in a fixed order that does not depend on how many
residents are wanted, so a population is a prefix of one endless sequence. Spouses are drawn
together, the second right after the first. Values that must be unique (handles, resident IDs,
phones, plates) are checked against everything drawn before and against what the caller reserves
(the demo personas'), and drawn again on a clash: deterministic too.

Not cryptographic randomness, on purpose: the same seed must give the same people.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from kernel.resident_id import make_resident_id
from workshop.population.conditions import TREATMENTS, Condition
from workshop.population.names import DISTRICTS, FOREIGN_ORIGINS, GIVEN, SURNAMES, District, Sex, join_pinyin

MARRIAGE_AGE: dict[Sex, int] = {"male": 22, "female": 20}  # Civil Code art. 1047
ADULT_AGE = 18
OLDEST = 90
FOREIGN_SHARE = 0.05
CAR_SHARE = 0.30  # of adults
CONDITION_SHARE = 0.25
# Chosen so that about 45% of adults end up married: each couple adds a married adult who was not
# drawn on their own (measured in tests/workshop/population/test_people.py).
COUPLE_CHANCE = 0.31
# (youngest, oldest, weight): the age of a resident drawn on their own. Second spouses are all
# adults, so minors are drawn a little more often than the one in eight they end up being.
AGE_BANDS: tuple[tuple[int, int, int], ...] = (
    (0, 17, 15), (18, 29, 18), (30, 44, 26), (45, 59, 22), (60, 74, 14), (75, OLDEST, 5),
)  # fmt: skip
PHONE_PREFIXES = (("3", 30), ("5", 25), ("8", 25), ("7", 8), ("9", 8), ("6", 2), ("4", 2))  # 13x, 15x, 18x, ...
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0

_SURNAMES = [surname for surname, _ in SURNAMES]
_SURNAME_WEIGHTS = list(itertools.accumulate(weight for _, weight in SURNAMES))
_DISTRICT_WEIGHTS = list(itertools.accumulate(district.weight for district in DISTRICTS))
_AGE_WEIGHTS = list(itertools.accumulate(weight for _, _, weight in AGE_BANDS))
_PHONE_PREFIXES = [prefix for prefix, _ in PHONE_PREFIXES]
_PHONE_WEIGHTS = list(itertools.accumulate(weight for _, weight in PHONE_PREFIXES))


def completed_years(born: date, day: date) -> int:
    """Age on ``day``, as ``kernel.resident_id.age_on`` counts it."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def anniversary(born: date, years: int) -> date:
    """The day someone born on ``born`` completes ``years`` years: 1 March for 29 February in a common year."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 28 February for 29 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)


@dataclass(frozen=True)
class Draft:
    """A resident as drawn: everything but the secrets to log in with."""

    handle: str
    name: str
    latin_name: str
    sex: Sex
    birth_date: date
    resident_id: str
    phone: str
    district: District
    address: str
    plate: str | None
    conditions: tuple[Condition, ...]
    spouse: str | None = None
    married_on: date | None = None


@dataclass
class Taken:
    """Values no drawn resident may have: the reserved ones, then every one drawn so far."""

    handles: set[str] = field(default_factory=set)
    resident_ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)

    def copy(self) -> Taken:
        return Taken(set(self.handles), set(self.resident_ids), set(self.phones), set(self.plates))


def drafts(seed: int, today: date, reserved: Taken) -> Iterator[Draft]:
    """The endless sequence of residents for ``seed``, aged as of ``today``."""
    return _Draw(seed, today, reserved).drafts()


class _Draw:
    def __init__(self, seed: int, today: date, reserved: Taken) -> None:
        self.random = random.Random(seed)  # noqa: S311 -- reproducible by design, never a secret
        self.today = today
        self.index = 0
        self.taken = reserved.copy()  # the caller's reserved values stay as they were

    def drafts(self) -> Iterator[Draft]:
        while True:
            first = self._draft(self._birth_date_in_band())
            if self._can_marry(first) and self.random.random() < COUPLE_CHANCE:
                second = self._draft(self._partner_birth_date(first), partner=first)
                married_on = self._wedding_day(first, second)
                yield replace(first, spouse=second.handle, married_on=married_on)
                yield replace(second, spouse=first.handle, married_on=married_on)
            else:
                yield first

    def _draft(self, birth_date: date, *, partner: Draft | None = None) -> Draft:
        draw = self.random
        handle = self._next_handle()
        sex: Sex = ("female" if partner.sex == "male" else "male") if partner else draw.choice(("female", "male"))
        name, latin_name = self._foreign_name(sex) if draw.random() < FOREIGN_SHARE else self._chinese_name(sex)
        # spouses share a home (and, in this simplified city, the district their IDs were issued in)
        district, address = (partner.district, partner.address) if partner else self._home()
        age = completed_years(birth_date, self.today)
        return Draft(
            handle=handle,
            name=name,
            latin_name=latin_name,
            sex=sex,
            birth_date=birth_date,
            resident_id=self._resident_id(district, birth_date, sex),
            phone=self._phone(),
            district=district,
            address=address,
            plate=self._plate() if age >= ADULT_AGE and draw.random() < CAR_SHARE else None,
            conditions=self._conditions(age),
        )

    def _next_handle(self) -> str:
        while True:
            self.index += 1
            handle = f"r{self.index:05d}"
            if _claim(self.taken.handles, handle):
                return handle

    def _chinese_name(self, sex: Sex) -> tuple[str, str]:
        surname = self.random.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
        given = self.random.choices(GIVEN[sex], k=1 if self.random.random() < 0.35 else 2)
        name = surname.hanzi + "".join(character.hanzi for character in given)
        return name, f"{surname.latin} {join_pinyin([character.latin for character in given])}"

    def _foreign_name(self, sex: Sex) -> tuple[str, str]:
        origin = self.random.choice(FOREIGN_ORIGINS)
        name = f"{self.random.choice(origin.given[sex])} {self.random.choice(origin.surnames)}"
        return name, name

    def _birth_date_in_band(self) -> date:
        youngest, oldest, _ = self.random.choices(AGE_BANDS, cum_weights=_AGE_WEIGHTS)[0]
        latest = years_before(self.today, youngest)
        earliest = years_before(self.today, oldest + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.random.randrange((latest - earliest).days + 1))

    def _can_marry(self, draft: Draft) -> bool:
        return completed_years(draft.birth_date, self.today) >= MARRIAGE_AGE[draft.sex]

    def _partner_birth_date(self, first: Draft) -> date:
        """Husbands are a few years older on average: the gap is -3 to +10 years, most often +2."""
        husband_older_by = timedelta(days=round(self.random.triangular(-3, 10, 2) * 365.25))
        wished = first.birth_date + (husband_older_by if first.sex == "male" else -husband_older_by)
        partner_sex: Sex = "female" if first.sex == "male" else "male"
        latest = years_before(self.today, MARRIAGE_AGE[partner_sex])
        earliest = years_before(self.today, OLDEST + 1) + timedelta(days=1)
        return min(max(wished, earliest), latest)

    def _wedding_day(self, first: Draft, second: Draft) -> date:
        """Once both reached the legal age, most often within a dozen years of it."""
        allowed_from = max(anniversary(draft.birth_date, MARRIAGE_AGE[draft.sex]) for draft in (first, second))
        span = min((self.today - allowed_from).days, 12 * 365)
        return allowed_from + timedelta(days=self.random.randrange(span + 1))

    def _home(self) -> tuple[District, str]:
        district = self.random.choices(DISTRICTS, cum_weights=_DISTRICT_WEIGHTS)[0]
        street = self.random.choice(district.streets)
        number = self.random.randint(1, 400)
        flat = f"{self.random.randint(1, 33)}{self.random.randint(1, 8):02d}"
        address = (
            f"广州市{district.hanzi}{street.hanzi} {number} 号 {flat} 房 "
            f"(Flat {flat}, {number} {street.latin}, {district.name} District, Guangzhou)"
        )
        return district, address

    def _resident_id(self, district: District, birth_date: date, sex: Sex) -> str:
        """A sequence number of the right parity (odd for men) that nobody of the district born that day has."""
        while True:
            sequence = 2 * self.random.randrange(500) + (1 if sex == "male" else 0)
            resident_id = make_resident_id(district.code, birth_date, sequence)
            if _claim(self.taken.resident_ids, resident_id):
                return resident_id

    def _phone(self) -> str:
        while True:
            prefix = self.random.choices(_PHONE_PREFIXES, cum_weights=_PHONE_WEIGHTS)[0]
            if _claim(self.taken.phones, phone := f"+861{prefix}{self.random.randrange(10**9):09d}"):
                return phone

    def _plate(self) -> str:
        """粤A and five characters, up to two of them letters (粤A3K72P)."""
        while True:
            characters = [str(self.random.randrange(10)) for _ in range(5)]
            letters = self.random.choices((0, 1, 2), (5, 3, 2))[0]
            for position in self.random.sample(range(5), letters):
                characters[position] = self.random.choice(PLATE_LETTERS)
            if _claim(self.taken.plates, plate := "粤A" + "".join(characters)):
                return plate

    def _conditions(self, age: int) -> tuple[Condition, ...]:
        if self.random.random() >= CONDITION_SHARE:
            return ()
        eligible = [treatment for treatment in TREATMENTS if treatment.min_age <= age]
        wanted = min(len(eligible), 1 if self.random.random() < 0.8 else 2)
        chosen: list[Condition] = []
        while len(chosen) < wanted:
            treatment = self.random.choices(eligible, [treatment.weight for treatment in eligible])[0]
            if treatment.condition not in chosen:
                chosen.append(treatment.condition)
        return tuple(chosen)


def _claim(taken: set[str], value: str) -> bool:
    """Whether ``value`` was still free; it is taken from now on."""
    if value in taken:
        return False
    taken.add(value)
    return True
