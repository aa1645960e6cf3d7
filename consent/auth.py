"""Who may call the consent service's routes for data consumers and holders: one alias per permission.

The citizen's own routes take ``kernel.citizens.CurrentCitizen``; the ledger's are public.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.tokens import RequirePermission, ServiceCaller

# a data consumer asks a citizen for consent, and reads the artefacts that name it
ConsentRequester = Annotated[ServiceCaller, Depends(RequirePermission("consent:request"))]
# a department records processing that rests on a legal basis other than consent
BasisRecorder = Annotated[ServiceCaller, Depends(RequirePermission("consent:record"))]
# a data holder asks whether it may release a citizen's data
DecisionAsker = Annotated[ServiceCaller, Depends(RequirePermission("consent:decide"))]
# a data holder reports that it erased a citizen's data
ErasureReporter = Annotated[ServiceCaller, Depends(RequirePermission("consent:erasure"))]
