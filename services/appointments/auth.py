"""Who may call the bureau's service routes: one named caller per permission (``kernel.access``).

The citizen's own routes (me_routes.py) authenticate the citizen instead (``kernel.citizens.CurrentCitizen``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.tokens import RequirePermission, ServiceCaller

# reads offices, slots and bookings
AppointmentsReader = Annotated[ServiceCaller, Depends(RequirePermission("appointments:read"))]
# books, confirms, cancels and reschedules on a citizen's behalf
AppointmentsBooker = Annotated[ServiceCaller, Depends(RequirePermission("appointments:book"))]
