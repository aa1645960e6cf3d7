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
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import col, delete, select

from kernel.client import UpstreamUnavailable, raise_for_upstream_problem
from kernel.database import Database
from pod import store
from pod.dependencies import PodState
from pod.errors import ConsentUnavailable, NoPod
from pod.models import Pod, StoredResource
from pod.paths import pod_root

ERASED_SCOPE = "the whole pod: every resource, container and access control document"


class ErasurePublic(BaseModel):
    erased_resources: int
    ledger_index: int


def resources_of(database: Database, pod_id: str) -> list[StoredResource]:
    """Every resource of the pod, in path order; NoPod when there is none."""
    with database.session() as session:
        if session.get(Pod, pod_id) is None:
            raise NoPod()
        return list(
            session.exec(select(StoredResource).where(StoredResource.pod_id == pod_id).order_by(StoredResource.path))
        )


def export_archive(database: Database, base_url: str, pod_id: str) -> bytes:
    root = pod_root(pod_id)
    rows = resources_of(database, pod_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest: list[dict[str, Any]] = []
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
            json.dumps({"storage": base_url + root, "resources": manifest}, indent=2),
        )
    return buffer.getvalue()


async def erase_pod(state: PodState, pod_id: str) -> ErasurePublic:
    """The ledger records the erasure, then the pod is gone; nothing is erased if the ledger cannot be told."""
    await run_in_threadpool(resources_of, state.database, pod_id)  # NoPod without a pod
    try:
        response = await state.services.request(
            "consent", "POST", "/erasures", json={"subject": pod_id, "scope": ERASED_SCOPE}
        )
    except UpstreamUnavailable as error:
        raise ConsentUnavailable(
            "The transparency ledger cannot record the erasure now; nothing was erased."
        ) from error
    raise_for_upstream_problem("consent", response)
    _, erased = await run_in_threadpool(erase_pods, state.database, pod_id)
    return ErasurePublic(erased_resources=erased, ledger_index=response.json()["ledger_index"])


def erase_pods(database: Database, *pod_ids: str) -> tuple[int, int]:
    """The pods of ``pod_ids`` deleted with everything in them, in one transaction: (pods, resources)."""
    with database.session() as session:
        store.lock_pod(session, *pod_ids)  # no write to a pod slips in between the two deletes
        resources = session.exec(delete(StoredResource).where(col(StoredResource.pod_id).in_(pod_ids))).rowcount
        pods = session.exec(delete(Pod).where(col(Pod.id).in_(pod_ids))).rowcount
        session.commit()
    return pods, resources
