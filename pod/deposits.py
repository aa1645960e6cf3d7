"""Records a department deposits into a citizen's pod: where government data lands.

A department holding ``pod:deposit`` may create (``PUT``) a new resource in the one container it
is responsible for (the hospital: ``prescriptions/``), never read, replace or delete one there:
once deposited, the record is the citizen's. Like a read, a deposit needs the consent service's
"yes" first — here for the processing ``dpv:Store``, which the department's recorded legal basis
(or a consent) must cover — and that decision is in the transparency ledger before anything is
written, so the citizen sees who put what category of data into their pod, when and why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

from kernel.consent_headers import ARTEFACT_HEADER, LEDGER_INDEX_HEADER
from kernel.problems import Problem
from pod import consent_gate, store
from pod.consent_gate import ServiceCaller
from pod.paths import is_container, pod_of, pod_root, twin_of
from pod.representation import stored_form

# The container each depositing department writes into (its category: consent_gate.CATEGORY_OF_CONTAINER).
DEPOSIT_CONTAINER_OF: dict[str, str] = {"prescriptions": "prescriptions/"}
STORE = "dpv:Store"


class DepositRefused(Problem):
    def __init__(self, detail: str, status: int = 403, kind: str = "forbidden") -> None:
        super().__init__(status, detail, kind=kind)


def check_target(service: str, path: str) -> None:
    container = DEPOSIT_CONTAINER_OF.get(service)
    if container is None:
        raise DepositRefused(f"The {service} service deposits nothing into pods.")
    inside = path[len(pod_root(pod_of(path))) :]
    if not inside.startswith(container) or is_container(path) or store.is_auxiliary(path):
        raise DepositRefused(
            f"The {service} service deposits records (not containers or access control) into {container} only."
        )


async def deposit(request: Request, path: str, caller: ServiceCaller) -> Response:
    """``PUT`` of a new record: checked, decided (and logged) by the consent service, then written."""
    check_target(caller.service, path)
    if not caller.artefact_id:
        # Decided on "any basis about the pod's owner", a deposit meant for one patient would land in another's
        # pod under that other's own standing basis: the department names the basis of its own patient.
        raise DepositRefused(
            f"A deposit names, in the {ARTEFACT_HEADER} header, the legal basis (or consent) it "
            "rests on for the citizen it is for.",
            400,
            "artefact-required",
        )
    app, body = request.app, await request.body()
    base = app.state.settings.public_url
    content_type, content = stored_form(path, dict(request.headers), body, base)  # 400/415 before logging
    await run_in_threadpool(_check_free, app, path)
    ledger_index = await consent_gate.decide(app, caller, path, processing=STORE)
    await run_in_threadpool(_write, app, path, content_type, content)
    return Response(status_code=201, headers={"Location": base + path, LEDGER_INDEX_HEADER: str(ledger_index)})


def _check_free(app, path: str) -> None:
    with app.state.database.session() as session:
        _check_free_in(session, path)


def _check_free_in(session, path: str) -> None:
    if session.get(store.StoredResource, pod_root(pod_of(path))) is None:
        raise DepositRefused("No pod here.", 404, "not-found")
    if store.read(session, path) is not None:
        raise DepositRefused(
            "A record is already here; a deposit never replaces what the citizen holds.", 409, "resource-exists"
        )
    if store.read(session, twin_of(path)) is not None:
        raise DepositRefused(f"{twin_of(path)} exists; {path} cannot exist beside it.", 409, "path-conflict")


def _write(app, path: str, content_type: str, content: bytes) -> None:
    now = datetime.now(UTC)
    with app.state.database.session() as session:
        store.lock_pod(session, pod_of(path))  # the citizen's own writes wait, and so do other deposits
        _check_free_in(session, path)  # again: the citizen may have acted while the ledger was asked
        store.ensure_parents(session, path, now)
        store.write(session, path, content_type, content, now)
        session.commit()
