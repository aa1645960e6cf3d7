from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request

from kernel.client import ServiceClient
from superapp_gateway.models import VehicleFines

demo_router = APIRouter(prefix="/demo", tags=["demo (walking skeleton)"])


@demo_router.get("/vehicles/{plate}/fines", summary="Demo only: a vehicle's fines, fetched from the traffic police")
async def demo_vehicle_fines(plate: str, request: Request) -> VehicleFines:
    # Demo deployments only: there is no citizen login yet, so this route is not mounted
    # unless the deployment runs with demo data.
    services: ServiceClient = request.app.state.services
    fines = await services.get_json("fines", f"/vehicles/{quote(plate, safe='')}/fines")
    return VehicleFines(plate=plate, regime=request.app.state.settings.regime.value, fines=fines)
