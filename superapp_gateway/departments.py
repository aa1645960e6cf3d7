"""How the super-app reaches a department for a citizen: the regime's choice, one class per regime.

- ``OnTheCitizensBehalf`` (platform): the gateway asks the department itself, naming the citizen by
  the identifier the whole platform shares (the session's subject is the resident ID) — it reads
  every answer, and the history keeps it.
- ``BlindCourier`` (rights): the gateway cannot ask for anyone: it does not know the departments'
  pseudonyms and holds no token of the citizen's. The citizen's device seals its request (with its
  own token for the department) to the department's encryption key, and the gateway relays the
  envelope (``POST /courier`` at the department, with the gateway's service token) and the sealed
  answer back, unread (``kernel/courier.py``).

Either way a department that is down or slow is answered within ``department_timeout_seconds``
with a 503 ``department-unavailable`` / 504 ``department-timeout`` problem; nothing is retried here
(every call made through this module is a read or a relay the device may repeat itself).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from kernel.client import raise_for_upstream_problem
from kernel.problems import Problem


class DepartmentUnreachable(Problem):
    def __init__(self, department: str, *, timed_out: bool) -> None:
        super().__init__(
            504 if timed_out else 503,
            f"The {department} department {'did not answer in time' if timed_out else 'cannot be reached'}; "
            "nothing was changed. Try again later.",
            kind="department-timeout" if timed_out else "department-unavailable", department=department,
            headers={"Retry-After": "5"},
        )


class BlindCourierOnly(Problem):
    def __init__(self, department: str) -> None:
        super().__init__(
            403, f"In this regime the super-app cannot ask the {department} department about you: your app asks it "
            f"itself, through the super-app's blind courier (POST /courier/{department}).",
            kind="blind-courier-only", department=department)


class CourierNotOffered(Problem):
    def __init__(self) -> None:
        super().__init__(404, "This super-app reads every request it routes; it relays no sealed envelopes.",
                         kind="courier-not-offered")


async def bounded_call(app: FastAPI, department: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call to a department with the gateway's service token, answered within the timeout."""
    try:
        async with asyncio.timeout(app.state.settings.department_timeout_seconds):
            return await app.state.services.request(department, method, path, **kwargs)
    except TimeoutError as error:
        raise DepartmentUnreachable(department, timed_out=True) from error
    except Problem as problem:
        if problem.status in (503, 504):  # the kernel client could not reach it
            raise DepartmentUnreachable(department, timed_out=problem.status == 504) from problem
        raise


class DepartmentAccess(Protocol):
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        """GET ``path`` (``{subject}`` in it is the citizen) at ``department`` for the citizen."""
        ...

    async def act(self, app: FastAPI, subject: str, department: str, method: str, path: str,
                  body: dict | None = None) -> Any:
        """Call ``method path`` (``{subject}`` in the path or as a body value ``"{subject}"`` is the
        citizen) at ``department`` for the citizen, and return the JSON answer."""
        ...

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        """Pass a sealed request to ``department`` and its sealed answer back."""
        ...


class OnTheCitizensBehalf:
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        return await self.act(app, subject, department, "GET", path)

    async def act(self, app: FastAPI, subject: str, department: str, method: str, path: str,
                  body: dict | None = None) -> Any:
        named = {key: subject if value == "{subject}" else value for key, value in (body or {}).items()}
        response = await bounded_call(app, department, method, path.format(subject=quote(subject, safe="")),
                                      **({"json": named} if body is not None else {}))
        raise_for_upstream_problem(department, response)
        return response.json() if response.content else None

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        raise CourierNotOffered()


class BlindCourier:
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        raise BlindCourierOnly(department)

    async def act(self, app: FastAPI, subject: str, department: str, method: str, path: str,
                  body: dict | None = None) -> Any:
        raise BlindCourierOnly(department)

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        response = await bounded_call(app, department, "POST", "/courier", json={"envelope": envelope})
        raise_for_upstream_problem(department, response)
        return response.json()["envelope"]
