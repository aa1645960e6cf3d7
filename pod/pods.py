"""Creating a citizen's pod: its root container, the owner's ACL and the WebID profile document."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from kernel.citizens import CurrentCitizen
from kernel.problems import Problem
from pod import store, wac
from pod.ldp import webid_of
from pod.models import Pod
from pod.paths import pod_root

router = APIRouter(tags=["pods"])


class PodPublic(BaseModel):
    storage: str
    webid: str


def profile_document(webid: str, storage: str, issuer: str) -> bytes:
    return (
        "@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
        "@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n"
        "@prefix pim: <http://www.w3.org/ns/pim/space#> .\n"
        f"<{webid}> a foaf:Person ;\n    solid:oidcIssuer <{issuer}> ;\n    pim:storage <{storage}> .\n"
    ).encode()


def public_read_acl(resource_url: str, owner: str) -> bytes:
    return (
        "@prefix acl: <http://www.w3.org/ns/auth/acl#> .\n@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
        f"<#owner> a acl:Authorization ; acl:agent <{owner}> ; acl:accessTo <{resource_url}> ;\n"
        "    acl:mode acl:Read, acl:Write, acl:Control .\n"
        f"<#public> a acl:Authorization ; acl:agentClass foaf:Agent ; acl:accessTo <{resource_url}> ;\n"
        "    acl:mode acl:Read .\n"
    ).encode()


def create_pod(app, pod_id: str) -> tuple[PodPublic, bool]:
    base, now = app.state.settings.public_url, datetime.now(UTC)
    root = pod_root(pod_id)
    webid = webid_of(base, pod_id)
    with app.state.database.session() as session:
        if session.get(Pod, pod_id) is not None:
            return PodPublic(storage=base + root, webid=webid), False
        session.add(Pod(id=pod_id, created_at=now))
        try:
            session.flush()  # the pod's row first: of two creations at once, one stops here
        except IntegrityError:
            return PodPublic(storage=base + root, webid=webid), False
        store.write_container(session, root, now)
        store.write(session, root + store.ACL_SUFFIX, "text/turtle", wac.owner_acl(base + root, webid).encode(), now)
        card = root + "profile/card"
        store.write(
            session, card, "text/turtle", profile_document(webid, base + root, app.state.settings.identity_url), now
        )
        store.write(session, card + store.ACL_SUFFIX, "text/turtle", public_read_acl(base + card, webid), now)
        session.commit()
    return PodPublic(storage=base + root, webid=webid), True


@router.post(
    "/pods",
    status_code=status.HTTP_201_CREATED,
    summary="Create your pod (once); answers where it is",
    responses={200: {"model": PodPublic, "description": "You already have this pod"}},
)
async def create_my_pod(request: Request, citizen: CurrentCitizen) -> PodPublic:
    if not citizen.subject:
        raise Problem(400, "No subject.", kind="invalid-token")
    pod, created = await run_in_threadpool(create_pod, request.app, citizen.subject)
    if not created:
        from fastapi.responses import JSONResponse

        return JSONResponse(pod.model_dump(), status_code=200)
    return pod
