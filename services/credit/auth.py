"""Who may call the credit platform: one named caller per permission (``kernel.access``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.tokens import RequirePermission, ServiceCaller

# a department reporting records about citizens, and their settlement (its client id is the source)
CreditReporter = Annotated[ServiceCaller, Depends(RequirePermission("credit:report"))]
# a service asking whether a citizen is restricted for it
CreditQuerier = Annotated[ServiceCaller, Depends(RequirePermission("credit:query"))]
