"""Putting the population's facts in, each through the API of the party that owns it in reality,
as that party's own operator (``kernel.operators``): the household registration office enrols the
residents at identity; the traffic police's vehicle registry records their cars and its cameras their
fines; the civil affairs bureau's register records their marriages. Every call is idempotent at the
service (the same fact again answers 200), so a population run can be repeated or resumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kernel.operators import operator_headers, operator_secret
from kernel.personas import Persona
from workshop.population.camera_fines import CameraFine
from workshop.population.people import Resident

CONCURRENT_CALLS = 8
OPERATED = ("identity", "fines", "appointments")  # the services whose operators put facts in


@dataclass
class IntakeReport:
    recorded: dict[str, int] = field(default_factory=dict)  # what was new, per kind of fact
    failures: list[str] = field(default_factory=list)


class Operators:
    """The record-keepers' clients, one per service, each with that service's operator secret."""

    def __init__(self, urls: dict[str, str], keys_dirs: dict[str, Path], transport: httpx.AsyncBaseTransport | None):
        self.clients = {
            service: httpx.AsyncClient(
                base_url=urls[service],
                timeout=30,
                transport=transport,
                headers=operator_headers(operator_secret(keys_dirs[service])),
            )
            for service in OPERATED
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def post(self, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.clients[service].post(path, json=body)


async def put_in(
    operators: Operators,
    people: list[Persona],
    fines: list[CameraFine],
    marriages: list[tuple[Resident, Resident]],
    *,
    on_done: Callable[[], None] = lambda: None,
) -> IntakeReport:
    """Residents first (the departments ask identity about them), then cars, fines and marriages."""
    report = IntakeReport()

    async def run(kind: str, calls: Iterable[Callable[[], Awaitable[httpx.Response]]]) -> None:
        gate = asyncio.Semaphore(CONCURRENT_CALLS)

        async def one(call: Callable[[], Awaitable[httpx.Response]]) -> None:
            async with gate:
                try:
                    response = await call()
                except httpx.HTTPError as error:
                    report.failures.append(f"{kind}: {type(error).__name__}: {error}")
                    return
                finally:
                    on_done()
            if response.status_code == 201:
                report.recorded[kind] = report.recorded.get(kind, 0) + 1
            elif response.status_code != 200:
                report.failures.append(
                    f"{kind}: {response.request.url.path} answered {response.status_code}: {response.text[:300]}"
                )

        await asyncio.gather(*(one(call) for call in calls))

    await run("residents", (_enrol(operators, person) for person in people))
    await run("vehicles", (_register(operators, person) for person in people if person.plate))
    await run("fines", (_record(operators, fine) for fine in fines))
    await run("marriages", (_marry(operators, *marriage) for marriage in marriages))
    return report


def _enrol(operators: Operators, person: Persona) -> Callable[[], Awaitable[httpx.Response]]:
    body = {
        "handle": person.handle,
        "resident_id": person.resident_id,
        "name": person.name,
        "phone": person.phone,
        "address": person.address,
        "password": person.password,
        "totp_secret": person.totp_secret_base32,
    }
    return lambda: operators.post("identity", "/residents", body)


def _register(operators: Operators, person: Persona) -> Callable[[], Awaitable[httpx.Response]]:
    body = {"plate": person.plate, "owner_resident_id": person.resident_id}
    return lambda: operators.post("fines", "/vehicles", body)


def _record(operators: Operators, fine: CameraFine) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: operators.post("fines", "/fines", fine.as_json())


def _marry(operators: Operators, one: Resident, other: Resident) -> Callable[[], Awaitable[httpx.Response]]:
    body = {"spouses": [one.resident_id, other.resident_id], "registered_on": str(one.married_on)}
    return lambda: operators.post("appointments", "/marriages", body)
