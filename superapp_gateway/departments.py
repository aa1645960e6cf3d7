"""How the super-app reaches a department for a citizen: the regime's choice, one class per regime.

- ``OnTheCitizensBehalf`` (platform): the gateway asks the department itself, naming the citizen by
  the identifier the whole platform shares (the session's subject is the resident ID) — it reads
  every answer, and the history keeps it.
- ``BlindCourier`` (rights): the gateway cannot ask for anyone: it does not know the departments'
  pseudonyms and holds no token of the citizen's. The citizen's device seals its request (with its
  own token for the department) to the department's encryption key, and the gateway relays the
  envelope (``POST /courier`` at the department, with the gateway's service token) and the sealed
  answer back, unread (``kernel/courier.py``).

A department's 403 about the citizen (its own problem kind: the bureau's ``joint-punishment`` with the
credit platform's reasons, ``not-the-partner``, …) reaches the citizen as that 403, kind, detail and
extension members included (``raise_for_department_problem``); a 403 about the gateway's own token
(``forbidden-caller``) stays a 502, as every other 401/403 does: the citizen cannot fix it.

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

from kernel.client import json_or_empty, raise_for_upstream_problem
from kernel.problems import PROBLEM_TYPE_PREFIX, Problem

# 403 kinds that are about the caller's credentials, not about the citizen: never passed on as 403.
CREDENTIAL_REFUSALS = frozenset({"forbidden-caller", "not-a-citizen"})
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "kind", "headers", "upstream"})


class DepartmentUnreachable(Problem):
    def __init__(self, department: str, *, timed_out: bool) -> None:
        super().__init__(
            504 if timed_out else 503,
            # A timeout says nothing of whether the department acted on a write; a refused connection does.
            f"The {department} department did not answer in time: if you asked it to change something, it may "
            "have done so — look before you ask again."
            if timed_out
            else f"The {department} department cannot be reached; nothing reached it. Try again later.",
            kind="department-timeout" if timed_out else "department-unavailable",
            department=department,
            headers={"Retry-After": "5"},
        )


class BlindCourierOnly(Problem):
    def __init__(self, department: str) -> None:
        super().__init__(
            403,
            f"In this regime the super-app cannot ask the {department} department about you: your app asks it "
            f"itself, through the super-app's blind courier (POST /courier/{department}).",
            kind="blind-courier-only",
            department=department,
        )


class CourierNotOffered(Problem):
    def __init__(self) -> None:
        super().__init__(
            404,
            "This super-app reads every request it routes; it relays no sealed envelopes.",
            kind="courier-not-offered",
        )


async def within_timeout(app: FastAPI, department: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call to a department with the gateway's service token; TimeoutError after
    ``department_timeout_seconds``. Bounds the whole call, the token's fetch included: in-process
    transports (the tests' mesh) ignore httpx's own timeouts, so this is asyncio's."""
    async with asyncio.timeout(app.state.settings.department_timeout_seconds):
        return await app.state.services.request(department, method, path, **kwargs)


async def bounded_call(app: FastAPI, department: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call to a department, answered within the timeout or refused as unreachable (503/504)."""
    try:
        return await within_timeout(app, department, method, path, **kwargs)
    except TimeoutError as error:
        raise DepartmentUnreachable(department, timed_out=True) from error
    except Problem as problem:
        if problem.status in (503, 504):  # the kernel client could not reach it
            raise DepartmentUnreachable(department, timed_out=problem.status == 504) from problem
        raise


def raise_for_department_problem(department: str, response: httpx.Response) -> None:
    """``raise_for_upstream_problem``, except that a department's 403 refusing the citizen is passed
    on as a 403 with the department's kind, detail and extension members (e.g. the reasons)."""
    if response.status_code == 403:
        body = json_or_empty(response)
        problem_type = str(body.get("type", ""))
        kind = problem_type.removeprefix(PROBLEM_TYPE_PREFIX) if problem_type.startswith(PROBLEM_TYPE_PREFIX) else ""
        if kind and kind not in CREDENTIAL_REFUSALS:
            extensions = {key: value for key, value in body.items() if key not in _PROBLEM_MEMBERS}
            raise Problem(
                403, body.get("detail"), title=body.get("title"), kind=kind, upstream=department, **extensions
            )
    raise_for_upstream_problem(department, response)


class DepartmentAccess(Protocol):
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        """GET ``path`` (``{subject}`` in it is the citizen) at ``department`` for the citizen."""
        ...

    async def act(
        self, app: FastAPI, subject: str, department: str, method: str, path: str, body: dict | None = None
    ) -> Any:
        """Call ``method path`` (``{subject}`` in the path or as a body value ``"{subject}"`` is the
        citizen) at ``department`` for the citizen, and return the JSON answer."""
        ...

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        """Pass a sealed request to ``department`` and its sealed answer back."""
        ...


class OnTheCitizensBehalf:
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        return await self.act(app, subject, department, "GET", path)

    async def act(
        self, app: FastAPI, subject: str, department: str, method: str, path: str, body: dict | None = None
    ) -> Any:
        named = {key: subject if value == "{subject}" else value for key, value in (body or {}).items()}
        response = await bounded_call(
            app,
            department,
            method,
            path.format(subject=quote(subject, safe="")),
            **({"json": named} if body is not None else {}),
        )
        raise_for_department_problem(department, response)
        return response.json() if response.content else None

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        raise CourierNotOffered()


class BlindCourier:
    async def read(self, app: FastAPI, subject: str, department: str, path: str) -> Any:
        raise BlindCourierOnly(department)

    async def act(
        self, app: FastAPI, subject: str, department: str, method: str, path: str, body: dict | None = None
    ) -> Any:
        raise BlindCourierOnly(department)

    async def relay(self, app: FastAPI, department: str, envelope: str) -> str:
        response = await bounded_call(app, department, "POST", "/courier", json={"envelope": envelope})
        raise_for_upstream_problem(department, response)
        return response.json()["envelope"]
