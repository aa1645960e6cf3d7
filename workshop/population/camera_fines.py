"""The facts the city's record-keepers hold about the population before anyone opens an app: the
fines the traffic police's cameras recorded for residents' cars. Deterministic for a seed, relative
to ``today``, so that the same people get the same fines in both regimes and on every run.

About a third of the fines fell due before ``today`` (overdue: on the platform the traffic police
report them to the credit platform, which blacklists the owner until they are paid); some are large
enough that a wallet cannot pay them all (the super-app's ¥1,000 starting balance).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from kernel.personas import Persona

# (offence, amount in fen, source): the Road Traffic Safety Law's common camera offences
OFFENCES: tuple[tuple[str, int, str], ...] = (
    ("running a red light", 20_000, "camera"),
    ("speeding 10-20% over the limit", 20_000, "camera"),
    ("speeding 20-50% over the limit", 100_000, "camera"),
    ("speeding over 50% above the limit", 200_000, "camera"),
    ("not giving way to pedestrians", 20_000, "camera"),
    ("driving in a bus lane", 10_000, "camera"),
    ("illegal parking", 20_000, "warden"),
    ("using a phone while driving", 5_000, "camera"),
)
PLACES: tuple[str, ...] = (
    "Huangpu Avenue West x Tianhe Road",
    "Dongfeng Middle Road x Jiefang North Road",
    "Zhongshan Avenue x Kexue Avenue",
    "Yuejiang West Road, Haizhu",
    "Guangzhou Avenue South x Xingang Road",
    "Airport Road x Baiyun Avenue",
    "Huanshi East Road, Yuexiu",
    "Panyu Avenue x Yingbin Road",
)
CHINA = timedelta(hours=8)


@dataclass(frozen=True)
class CameraFine:
    reference: str  # the camera's capture id: the traffic police's own key for it
    plate: str
    offence: str
    place: str
    occurred_at: datetime
    amount_cents: int
    due_date: date
    source: str

    def as_json(self, *, without: tuple[str, ...] = ()) -> dict[str, object]:
        """The fine as the cameras' call sends it (and, ``without`` the source, as the truth keeps it)."""
        whole: dict[str, object] = {
            "reference": self.reference,
            "plate": self.plate,
            "offence": self.offence,
            "place": self.place,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "amount_cents": self.amount_cents,
            "due_date": self.due_date.isoformat(),
            "source": self.source,
        }
        return {key: value for key, value in whole.items() if key not in without}


def _capture_id(seed: int, handle: str, number: int) -> str:
    """The camera's own id for a capture: stable for a seed (a run again records nothing twice) and
    opaque (a capture id that named its owner would be a key the traffic police never had)."""
    digest = hashlib.sha256(f"{seed}:{handle}:{number}".encode()).hexdigest()[:20]
    return f"gz-cam-{digest}"


def fines_for(owners: list[Persona], *, seed: int, today: date) -> list[CameraFine]:
    """One to three fines per car, in the last 90 days; due 15 days after the offence."""
    fines: list[CameraFine] = []
    for owner in owners:
        if owner.plate is None:
            continue
        # per owner: a larger run keeps earlier fines; reproducible by design, never a secret
        rng = random.Random(f"{seed}:fines:{owner.handle}")  # noqa: S311
        for number in range(rng.choice((1, 1, 1, 2, 2, 3))):
            offence, amount, source = rng.choice(OFFENCES)
            day = today - timedelta(days=rng.randint(1, 90))
            local = datetime.combine(day, time(rng.randint(6, 22), rng.randint(0, 59)))
            fines.append(
                CameraFine(
                    reference=_capture_id(seed, owner.handle, number),
                    plate=owner.plate,
                    offence=offence,
                    place=rng.choice(PLACES),
                    occurred_at=(local - CHINA).replace(tzinfo=UTC),
                    amount_cents=amount,
                    due_date=day + timedelta(days=15),
                    source=source,
                )
            )
    return fines
