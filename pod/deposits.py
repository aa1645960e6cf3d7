"""Records a department deposits into a citizen's pod: where government data lands.

A department holding ``pod:deposit`` may create (``PUT``) a new resource in the one container it
is responsible for (the hospital: ``prescriptions/``), never read, replace or delete one there:
once deposited, the record is the citizen's. Like a read, a deposit needs the consent service's
"yes" first — here for the processing ``dpv:Store``, which the department's recorded legal basis
(or a consent) must cover — and that decision is in the transparency ledger before anything is
written, so the citizen sees who put what category of data into their pod, when and why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session
from starlette.responses import Response

from kernel.consent_headers import ARTEFACT_HEADER, LEDGER_INDEX_HEADER
from kernel.problems import NotFound
from pod import consent_gate, store
from pod.auth import DepartmentCaller
from pod.dependencies import PodState
from pod.errors import ArtefactRequired, Forbidden, PathConflict, ResourceExists
from pod.models import StoredResource
from pod.paths import is_container, pod_of, pod_root, twin_of
from pod.representation import stored_form

# The container each depositing department writes into (its category: consent_gate.CATEGORY_OF_CONTAINER).
DEPOSIT_CONTAINER_OF: dict[str, str] = {"prescriptions": "prescriptions/"}
STORE = "dpv:Store"


def check_target(service: str, path: str) -> None:
    container = DEPOSIT_CONTAINER_OF.get(service)
    if container is None:
        raise Forbidden(f"The {service} service deposits nothing into pods.")
    inside = path[len(pod_root(pod_of(path))) :]
    if not inside.startswith(container) or is_container(path) or store.is_auxiliary(path):
        raise Forbidden(
            f"The {service} service deposits records (not containers or access control) into {container} only."
        )


async def deposit(
    state: PodState,
    caller: DepartmentCaller,
    path: str,
    headers: dict[str, str],
    read_body: Callable[[], Awaitable[bytes]],
) -> Response:
    """``PUT`` of a new record: checked, decided (and logged) by the consent service, then written.
    The body is read once the department may deposit there at all."""
    check_target(caller.service, path)
    if not caller.artefact_id:
        # Decided on "any basis about the pod's owner", a deposit meant for one patient would land in another's
        # pod under that other's own standing basis: the department names the basis of its own patient.
        raise ArtefactRequired(
            f"A deposit names, in the {ARTEFACT_HEADER} header, the legal basis (or consent) it "
            "rests on for the citizen it is for."
        )
    base = state.base_url
    content_type, content = stored_form(path, headers, await read_body(), base)  # 400/415 before logging
    await run_in_threadpool(_check_free, state, path)
    ledger_index = await consent_gate.decide(state.services, base, caller, path, processing=STORE)
    await run_in_threadpool(_write, state, path, content_type, content)
    return Response(status_code=201, headers={"Location": base + path, LEDGER_INDEX_HEADER: str(ledger_index)})


def _check_free(state: PodState, path: str) -> None:
    with state.database.session() as session:
        _check_free_in(session, path)


def _check_free_in(session: Session, path: str) -> None:
    if session.get(StoredResource, pod_root(pod_of(path))) is None:
        raise NotFound("No pod here.")
    if store.read(session, path) is not None:
        raise ResourceExists()
    if store.read(session, twin_of(path)) is not None:
        raise PathConflict(f"{twin_of(path)} exists; {path} cannot exist beside it.")


def _write(state: PodState, path: str, content_type: str, content: bytes) -> None:
    now = state.clock()
    with state.database.session() as session:
        store.lock_pod(session, pod_of(path))  # the citizen's own writes wait, and so do other deposits
        _check_free_in(session, path)  # again: the citizen may have acted while the ledger was asked
        store.ensure_parents(session, path, now)
        store.write(session, path, content_type, content, now)
        session.commit()
