"""How the super-app reaches a department for a citizen: the regime's choice, one class per regime.

- ``OnTheCitizensBehalf`` (platform): the gateway asks the department itself, naming the citizen by
  the identifier the whole platform shares (the session's subject is the resident ID, and the
  journey puts it in the path or the body it sends) — it reads every answer, and the history keeps it.
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from kernel.client import ServiceClient, json_or_empty, raise_for_upstream_problem
from kernel.problems import Problem, UpstreamError, kind_of
from superapp_gateway.errors import (
    CREDENTIAL_REFUSALS,
    BlindCourierOnly,
    CourierNotOffered,
    DepartmentProblem,
    DepartmentTimeout,
    DepartmentUnavailable,
)

# What a call to a department may answer besides the department's own 4xx problems, passed on
# (a route's OpenAPI ``responses``).
DEPARTMENT_PROBLEMS = (DepartmentUnavailable, DepartmentTimeout, UpstreamError)
# Members of a department's problem that are the problem itself, not what it adds.
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "kind", "headers", "upstream"})


def unreachable(department: str, *, timed_out: bool) -> DepartmentUnavailable | DepartmentTimeout:
    """A department that gave no answer: 504 if it took too long, 503 if it cannot be reached."""
    if timed_out:
        # A timeout says nothing of whether the department acted on a write; a refused connection does.
        return DepartmentTimeout(
            f"The {department} department did not answer in time: if you asked it to change something, it may "
            "have done so — look before you ask again.",
            department=department,
        )
    return DepartmentUnavailable(
        f"The {department} department cannot be reached; nothing reached it. Try again later.", department=department
    )


@dataclass(frozen=True)
class DepartmentClient:
    """The gateway's calls to departments, with its service token, each bounded by ``timeout_seconds``."""

    services: ServiceClient
    timeout_seconds: float

    async def within_timeout(self, department: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; TimeoutError after ``timeout_seconds``. Bounds the whole call, the token's fetch
        included: in-process transports (the tests' mesh) ignore httpx's own timeouts, so this is asyncio's."""
        async with asyncio.timeout(self.timeout_seconds):
            return await self.services.request(department, method, path, **kwargs)

    async def call(self, department: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call, answered within the timeout or refused as unreachable (503/504)."""
        try:
            return await self.within_timeout(department, method, path, **kwargs)
        except TimeoutError as error:
            raise unreachable(department, timed_out=True) from error
        except Problem as problem:
            if problem.status in (503, 504):  # the kernel client could not reach it
                raise unreachable(department, timed_out=problem.status == 504) from problem
            raise


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def raise_for_department_problem(department: str, response: httpx.Response) -> None:
    """``raise_for_upstream_problem``, except that a department's 403 refusing the citizen is passed
    on as a 403 with the department's kind, detail and extension members (e.g. the reasons)."""
    if response.status_code == 403:
        body = json_or_empty(response)
        kind = kind_of(body.get("type"))
        if kind and kind not in CREDENTIAL_REFUSALS:
            extensions = {key: value for key, value in body.items() if key not in _PROBLEM_MEMBERS}
            raise DepartmentProblem(
                403,
                kind,
                _text(body.get("detail")),
                title=_text(body.get("title")),
                upstream=department,
                **extensions,
            )
    raise_for_upstream_problem(department, response)


class DepartmentAccess(Protocol):
    async def read(
        self, client: DepartmentClient, department: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """GET ``path`` at ``department`` for the citizen the path or ``params`` name; the JSON answer."""
        ...

    async def act(
        self, client: DepartmentClient, department: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        """Call ``method path`` at ``department`` for the citizen the path or the body names; the JSON answer."""
        ...

    async def relay(self, client: DepartmentClient, department: str, envelope: str) -> str:
        """Pass a sealed request to ``department`` and its sealed answer back."""
        ...


class OnTheCitizensBehalf:
    async def read(
        self, client: DepartmentClient, department: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> Any:
        response = await client.call(department, "GET", path, **({"params": dict(params)} if params else {}))
        raise_for_department_problem(department, response)
        return response.json() if response.content else None

    async def act(
        self, client: DepartmentClient, department: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        response = await client.call(department, method, path, **({"json": body} if body is not None else {}))
        raise_for_department_problem(department, response)
        return response.json() if response.content else None

    async def relay(self, client: DepartmentClient, department: str, envelope: str) -> str:
        raise CourierNotOffered()


class BlindCourier:
    async def read(
        self, client: DepartmentClient, department: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> Any:
        raise BlindCourierOnly(department)

    async def act(
        self, client: DepartmentClient, department: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        raise BlindCourierOnly(department)

    async def relay(self, client: DepartmentClient, department: str, envelope: str) -> str:
        response = await client.call(department, "POST", "/courier", json={"envelope": envelope})
        raise_for_upstream_problem(department, response)
        envelope_back: str = response.json()["envelope"]
        return envelope_back
