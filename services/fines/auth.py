"""Who may call the traffic police's service routes: one alias per permission (``kernel.tokens``).
The citizen's own routes authenticate the citizen instead (``kernel.citizens.CurrentCitizen``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.tokens import RequirePermission, ServiceCaller

FinesReader = Annotated[ServiceCaller, Depends(RequirePermission("fines:read"))]
FinesPayer = Annotated[ServiceCaller, Depends(RequirePermission("fines:pay"))]
