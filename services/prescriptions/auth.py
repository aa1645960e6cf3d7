"""Who may call the hospital and pharmacy's service routes: one alias per permission
(``kernel.tokens``). The citizen's own routes authenticate the patient instead
(``kernel.citizens.CurrentCitizen``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.tokens import RequirePermission, ServiceCaller

PrescriptionsReader = Annotated[ServiceCaller, Depends(RequirePermission("prescriptions:read"))]
PrescriptionsIssuer = Annotated[ServiceCaller, Depends(RequirePermission("prescriptions:issue"))]
PrescriptionsPayer = Annotated[ServiceCaller, Depends(RequirePermission("prescriptions:pay"))]
PrescriptionsDispenser = Annotated[ServiceCaller, Depends(RequirePermission("prescriptions:dispense"))]
PrescriptionsDeliverer = Annotated[ServiceCaller, Depends(RequirePermission("prescriptions:deliver"))]
