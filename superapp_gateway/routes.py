"""The gateway's routes that no citizen session calls: departments asking the super-app (Internet
Plus, superapp_gateway/internet_plus.py), and the demo deployment's walking skeleton."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from kernel.bounds import Reference
from kernel.dependencies import NowDep, ServicesDep
from kernel.problems import problem_responses
from superapp_gateway.auth import InternetPlusCaller
from superapp_gateway.dependencies import SettingsDep, StateDep
from superapp_gateway.errors import CitizenNotFound, NotShared
from superapp_gateway.internet_plus import SharedCitizen
from superapp_gateway.models import VehicleFines

internet_plus_router = APIRouter(
    prefix="/internet-plus", tags=["Internet Plus (platform): departments ask the super-app"]
)


@internet_plus_router.get(
    "/citizens/{resident_id}",
    summary="Platform: everything the super-app keeps about a citizen, for a department (Internet Plus)",
    responses=problem_responses(NotShared, CitizenNotFound),
)
async def shared_citizen(
    resident_id: Reference, caller: InternetPlusCaller, state: StateDep, now: NowDep
) -> SharedCitizen:
    return await run_in_threadpool(
        state.policy.sharing.citizen_for, state.database, state.policy.history, resident_id, caller.client_id, now
    )


demo_router = APIRouter(prefix="/demo", tags=["demo (walking skeleton)"])


@demo_router.get("/vehicles/{plate}/fines", summary="Demo only: a vehicle's fines, fetched from the traffic police")
async def demo_vehicle_fines(plate: str, services: ServicesDep, settings: SettingsDep) -> VehicleFines:
    # Demo deployments only: there is no citizen login yet, so this route is not mounted
    # unless the deployment runs with demo data.
    fines = await services.get_json("fines", f"/vehicles/{quote(plate, safe='')}/fines")
    return VehicleFines(plate=plate, regime=settings.regime.value, fines=fines)
