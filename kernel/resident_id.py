"""The Chinese resident identity number (GB 11643-1999), checked the way an issuer would check it.

Eighteen characters: a 6-digit address code (GB/T 2260, where the household was registered),
the birth date as YYYYMMDD, a 3-digit sequence number whose parity gives the sex (odd male,
even female) and a check character computed with ISO 7064 MOD 11-2, 10 being written 'X'.

In the platform regime this number is the universal key every service joins on; the rights
regime keeps it inside the identity provider and hands out sector pseudonyms instead
(``identity.pairwise``). Either way it has to be validated once, at the edge, with a message a
person can act on, hence one precise ``InvalidResidentId`` per way an input can be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

LENGTH = 18

# GB/T 2260 province-level codes, the first two digits of every address code. 71 is Taiwan;
# 81, 82 and 83 are the residence permits for residents of Hong Kong, Macao and Taiwan (2018).
PROVINCES: dict[str, str] = {
    "11": "Beijing",
    "12": "Tianjin",
    "13": "Hebei",
    "14": "Shanxi",
    "15": "Inner Mongolia",
    "21": "Liaoning",
    "22": "Jilin",
    "23": "Heilongjiang",
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
    "35": "Fujian",
    "36": "Jiangxi",
    "37": "Shandong",
    "41": "Henan",
    "42": "Hubei",
    "43": "Hunan",
    "44": "Guangdong",
    "45": "Guangxi",
    "46": "Hainan",
    "50": "Chongqing",
    "51": "Sichuan",
    "52": "Guizhou",
    "53": "Yunnan",
    "54": "Tibet",
    "61": "Shaanxi",
    "62": "Gansu",
    "63": "Qinghai",
    "64": "Ningxia",
    "65": "Xinjiang",
    "71": "Taiwan",
    "81": "Hong Kong",
    "82": "Macao",
    "83": "Taiwan (residence permit)",
}
_PROVINCE_LIST = "11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82, 83"

# ISO 7064 MOD 11-2: position i (0-based, left to right) carries weight 2^(17-i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(LENGTH - 1))

# The issuing authority's calendar day, so a baby born this morning in Guangzhou is not "in the
# future" on a server whose clock is still on yesterday in UTC.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))

Sex = Literal["male", "female"]


class InvalidResidentId(ValueError):
    """The input is not a valid resident identity number; the message says why."""


@dataclass(frozen=True)
class ResidentId:
    value: str  # the normalised 18 characters, check 'X' upper-case
    address_code: str
    birth_date: date
    sequence: int
    sex: Sex

    @property
    def province(self) -> str:
        return PROVINCES[self.address_code[:2]]

    def __str__(self) -> str:
        return self.value


def _is_digits(text: str) -> bool:
    # str.isdigit alone would let full-width and other Unicode digits through.
    return text.isascii() and text.isdigit()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits: '0'-'9' or 'X' for 10."""
    if len(first17) != LENGTH - 1 or not _is_digits(first17):
        raise InvalidResidentId(f"the check character is computed over exactly 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _check_address_code(address_code: str) -> None:
    if len(address_code) != 6 or not _is_digits(address_code):
        raise InvalidResidentId(f"the address code must be 6 digits, got {address_code!r}")
    if address_code[:2] not in PROVINCES:
        raise InvalidResidentId(
            f"unknown province {address_code[:2]!r} in address code {address_code!r}: the first two digits "
            f"must be a province-level code of GB/T 2260 ({_PROVINCE_LIST})"
        )


def make_resident_id(address_code: str, birth_date: date, sequence: int) -> str:
    """The 18-character number for these parts, check character included.

    The birth date is not compared with today: making a number is for tests and demo data, and
    ``parse_resident_id`` is where a claimed date meets the calendar.
    """
    _check_address_code(address_code)
    if not 0 <= sequence <= 999:
        raise ValueError(f"the sequence number has 3 digits (0-999), got {sequence}")
    first17 = f"{address_code}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{sequence:03d}"
    return first17 + check_character(first17)


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate ``value`` and split it into its parts, or raise ``InvalidResidentId`` saying what is wrong.

    A lower-case 'x' check character is accepted (people type it) and normalised to 'X'.
    ``today`` defaults to the current date in China Standard Time.
    """
    if len(value) != LENGTH:
        raise InvalidResidentId(f"a resident identity number has 18 characters, got {len(value)}")
    first17, given_check = value[:-1], value[-1].upper()
    if not _is_digits(first17) or not (_is_digits(given_check) or given_check == "X"):
        wrong = [
            f"{position + 1} ({character!r})"
            for position, character in enumerate(value)
            if not _is_digits(character) and not (position == LENGTH - 1 and character in "xX")
        ]
        raise InvalidResidentId(
            "the first 17 characters must be digits and the last a digit or 'X'; "
            f"not allowed at position {', '.join(wrong)}"
        )
    address_code = first17[:6]
    _check_address_code(address_code)
    digits = first17[6:14]
    try:
        birth_date = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidResidentId(f"birth date {digits} (YYYYMMDD) is not a date on the calendar") from None
    if today is None:
        today = datetime.now(CHINA_STANDARD_TIME).date()
    if birth_date > today:
        raise InvalidResidentId(f"birth date {birth_date.isoformat()} is in the future (today is {today.isoformat()})")
    expected_check = check_character(first17)
    if given_check != expected_check:
        raise InvalidResidentId(
            f"wrong check character {value[-1]!r}: for the first 17 digits {first17} it must be {expected_check!r}; "
            "a digit is probably mistyped"
        )
    sequence = int(first17[14:17])
    return ResidentId(
        value=first17 + given_check,
        address_code=address_code,
        birth_date=birth_date,
        sequence=sequence,
        sex="male" if sequence % 2 else "female",
    )


def age_on(resident: ResidentId, day: date) -> int:
    """Completed years of life on ``day``.

    Someone born on 29 February completes a year on 1 March in common years: a year counts only
    once its anniversary date has been passed, never early.
    """
    born = resident.birth_date
    if day < born:
        raise ValueError(f"{day.isoformat()} is before the birth date {born.isoformat()}")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalised_resident_id(value: str) -> str:
    """``value`` as the identity service keys on it (check character upper-case); ``InvalidResidentId``
    (a ``ValueError``, so a request model answers 422 with the reason) when it is not one."""
    return parse_resident_id(value).value


# A resident identity number in a request body: bounded before it is parsed, normalised once parsed.
ResidentIdNumber = Annotated[
    str, StringConstraints(min_length=LENGTH, max_length=LENGTH), AfterValidator(normalised_resident_id)
]
