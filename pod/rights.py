"""The citizen's rights over their pod: take everything with them (portability), or erase it.

Export: one zip archive with every resource (RDF as Turtle, everything else as stored), every
access control document, and a manifest of paths, content types and ETags, so another Solid
server can be filled from it. Erasure: the consent service's ledger first records that an
erasure happened (only that: the ledger never held the data), then every resource of the pod is
deleted in one transaction. If the ledger cannot be told, nothing is erased (503): an erasure
nobody can later prove would be worse than one retried.
"""

from __future__ import annotations

import io
import json
import zipfile

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import delete, select

from kernel.citizens import CurrentCitizen
from kernel.client import UpstreamUnavailable, raise_for_upstream_problem
from kernel.problems import Problem
from pod import store
from pod.models import Pod, StoredResource
from pod.paths import pod_root
from pod.representation import USER_CONTENT_HEADERS

router = APIRouter(prefix="/me/pod", tags=["the citizen's rights"])
ERASED_SCOPE = "the whole pod: every resource, container and access control document"


class ErasurePublic(BaseModel):
    erased_resources: int
    ledger_index: int


def _resources(app, pod_id: str) -> list[StoredResource]:
    with app.state.database.session() as session:
        if session.get(Pod, pod_id) is None:
            raise Problem(404, "You have no pod.", kind="no-pod")
        return list(
            session.exec(select(StoredResource).where(StoredResource.pod_id == pod_id).order_by(StoredResource.path))
        )


def export_archive(app, pod_id: str) -> bytes:
    root = pod_root(pod_id)
    rows = _resources(app, pod_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest = []
        for row in rows:
            relative = row.path[len(root) :]
            manifest.append(
                {
                    "path": relative or "./",
                    "content_type": row.content_type,
                    "etag": row.etag,
                    "modified": row.modified.isoformat(),
                    "container": row.path.endswith("/"),
                }
            )
            # a container's own description is stored beside its members as ".meta"
            name = f"pod/{relative}.meta" if row.path.endswith("/") else f"pod/{relative}"
            archive.writestr(name, row.content)
        archive.writestr(
            "manifest.json",
            json.dumps({"storage": app.state.settings.public_url + root, "resources": manifest}, indent=2),
        )
    return buffer.getvalue()


@router.get(
    "/export",
    summary="Your whole pod as one zip archive",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export(request: Request, citizen: CurrentCitizen) -> Response:
    archive = await run_in_threadpool(export_archive, request.app, citizen.subject)
    return Response(
        archive,
        media_type="application/zip",
        headers={**USER_CONTENT_HEADERS, "Content-Disposition": 'attachment; filename="pod-export.zip"'},
    )


def _erase(app, pod_id: str) -> int:
    with app.state.database.session() as session:
        store.lock_pod(session, pod_id)  # no write to the pod slips in between the two deletes
        erased = session.exec(delete(StoredResource).where(StoredResource.pod_id == pod_id)).rowcount
        session.exec(delete(Pod).where(Pod.id == pod_id))
        session.commit()
    return erased


@router.delete("", summary="Erase your pod (the ledger keeps only that it happened)")
async def erase(request: Request, citizen: CurrentCitizen) -> ErasurePublic:
    app = request.app
    await run_in_threadpool(_resources, app, citizen.subject)  # 404 without a pod
    try:
        response = await app.state.services.request(
            "consent", "POST", "/erasures", json={"subject": citizen.subject, "scope": ERASED_SCOPE}
        )
    except UpstreamUnavailable as error:
        raise Problem(
            503,
            "The transparency ledger cannot record the erasure now; nothing was erased.",
            kind="consent-unavailable",
        ) from error
    raise_for_upstream_problem("consent", response)
    erased = await run_in_threadpool(_erase, app, citizen.subject)
    return ErasurePublic(erased_resources=erased, ledger_index=response.json()["ledger_index"])
