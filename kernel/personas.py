"""The demo citizens of Guangzhou: the same five people in both regimes, so a workshop can compare them.

Each persona exists for a journey: paying camera fines, a divorce (two spouses who each must
act), a hospital visit, and proving "over 18" when the answer is no. Their resident identity
numbers are valid GB 11643-1999 numbers made from Guangzhou district address codes (440103
Liwan, 440104 Yuexiu, 440105 Haizhu, 440106 Tianhe, 440113 Panyu) but belong to nobody; names,
phones and addresses are invented too.

DEMO ONLY: every persona logs in with the same published password and a TOTP secret fixed in
this file, so that anyone at a workshop can be anyone. Nothing here may protect real accounts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

from kernel.problems import Problem
from kernel.resident_id import make_resident_id


class UnknownPersona(Problem):
    """A persona handle the demo does not have (the stage and the phones load only the demo personas)."""

    status, kind = 404, "unknown-persona"

    def __init__(self, detail: str = "There is no demo persona by that name.", **extensions: Any) -> None:
        super().__init__(detail, **extensions)


# Demo only: the one password of every persona, printed in the workshop handout.
DEMO_PASSWORD = "citygate-demo"


@dataclass(frozen=True)
class Persona:
    handle: str  # the login name, also how journeys and tests refer to the person
    name: str  # Chinese name (pinyin)
    resident_id: str
    phone: str  # E.164
    birth_date: date
    address: str
    password: str  # demo only
    totp_secret: bytes  # demo only
    role: str  # what the persona is for
    plate: str | None = None  # the registered car, if any
    spouse: str | None = None  # the handle of the spouse, if married

    @property
    def totp_secret_base32(self) -> str:
        """The TOTP secret as authenticator apps take it (RFC 4648 base32, no padding)."""
        return base64.b32encode(self.totp_secret).decode("ascii").rstrip("=")


def _persona(
    handle: str,
    name: str,
    *,
    address_code: str,
    birth_date: date,
    sequence: int,
    phone: str,
    address: str,
    role: str,
    plate: str | None = None,
    spouse: str | None = None,
) -> Persona:
    return Persona(
        handle=handle,
        name=name,
        resident_id=make_resident_id(address_code, birth_date, sequence),
        phone=phone,
        birth_date=birth_date,
        address=address,
        password=DEMO_PASSWORD,
        totp_secret=f"citygate-demo-totp:{handle}".encode(),  # demo only: derivable from the handle
        role=role,
        plate=plate,
        spouse=spouse,
    )


PERSONAS: tuple[Persona, ...] = (
    _persona(
        "li-wei",
        "李伟 (Li Wei)",
        address_code="440106",
        birth_date=date(1985, 4, 12),
        sequence=137,
        phone="+8613822456701",
        address="广州市天河区体育西路 103 号 (103 Tiyu West Road, Tianhe District, Guangzhou)",
        role="Car owner with two unpaid camera fines: the fines journey.",
        plate="粤A12345",
    ),
    _persona(
        "chen-jun",
        "陈军 (Chen Jun)",
        address_code="440104",
        birth_date=date(1990, 8, 23),
        sequence=215,
        phone="+8613926113458",
        address="广州市海珠区江南大道中 168 号 (168 Jiangnan Avenue Middle, Haizhu District, Guangzhou)",
        role="Husband of Zhang Min: one of the two spouses in the divorce journey.",
        spouse="zhang-min",
    ),
    _persona(
        "zhang-min",
        "张敏 (Zhang Min)",
        address_code="440105",
        birth_date=date(1992, 2, 29),
        sequence=84,
        phone="+8618620347792",
        address="广州市海珠区江南大道中 168 号 (168 Jiangnan Avenue Middle, Haizhu District, Guangzhou)",
        role="Wife of Chen Jun: the other spouse in the divorce journey (born on 29 February, an age edge case).",
        spouse="chen-jun",
    ),
    _persona(
        "wang-fang",
        "王芳 (Wang Fang)",
        address_code="440103",
        birth_date=date(1958, 11, 3),
        sequence=26,
        phone="+8613580219964",
        address="广州市荔湾区中山八路 45 号 (45 Zhongshan 8th Road, Liwan District, Guangzhou)",
        role="Patient in her late sixties: the health journey (appointments, records, prescriptions).",
    ),
    _persona(
        "liu-yang",
        "刘洋 (Liu Yang)",
        address_code="440113",
        birth_date=date(2010, 6, 18),
        sequence=51,
        phone="+8615818670235",
        address="广州市番禺区市桥街光明北路 22 号 (22 Guangming North Road, Shiqiao, Panyu District, Guangzhou)",
        role='A 16-year-old (ID card holders from 16): the selective-disclosure demo where "over 18" is false. '
        "Turns 18 on 2028-06-18; move the birth date forward before then.",
    ),
)

_BY_HANDLE = {persona.handle: persona for persona in PERSONAS}


def by_handle(handle: str) -> Persona:
    """The persona with this handle; KeyError naming the known handles otherwise."""
    try:
        return _BY_HANDLE[handle]
    except KeyError:
        raise KeyError(f"no persona {handle!r}; the personas are {', '.join(_BY_HANDLE)}") from None
