"""The population's requests say so: every request of a population run (``citygate populate``, and the
100 residents ``citygate up`` sends through the journeys at start) carries ``User-Agent:
citygate-populate/1``. The services record a request's agent on its server span
(``user_agent.original``, kernel/observability.py), so the stage draws a phone's step without the
population's traffic that happened meanwhile (workshop/stage/step_traces.py).

It is a label, not a control: nothing is allowed or refused by it (any client could send it).
"""

from __future__ import annotations

import httpx

POPULATION_AGENT = "citygate-populate"
POPULATION_USER_AGENT = f"{POPULATION_AGENT}/1"


def from_population(user_agent: str | None) -> bool:
    return (user_agent or "").startswith(f"{POPULATION_AGENT}/")


class PopulationTransport(httpx.AsyncBaseTransport):
    """Sends every request through ``inner`` labelled as the population's.

    Shared by every client of a run (each journey opens its own): a client closing does not close
    it; ``close`` does, at the end of the run."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._owned = inner is None
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["User-Agent"] = POPULATION_USER_AGENT
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """A client of the run is done; the others still use the connections."""

    async def close(self) -> None:
        if self._owned:
            await self._inner.aclose()
