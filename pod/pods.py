"""Creating a citizen's pod: its root container, the owner's ACL and the WebID profile document."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from pod import store, wac
from pod.dependencies import PodState
from pod.models import Pod
from pod.paths import ACL_SUFFIX, pod_root, webid_of


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


def create_pod(state: PodState, pod_id: str) -> tuple[PodPublic, bool]:
    """The pod of ``pod_id``, and whether it was created now (False: it was there already)."""
    base, now = state.base_url, state.clock()
    root = pod_root(pod_id)
    webid = webid_of(base, pod_id)
    with state.database.session() as session:
        if session.get(Pod, pod_id) is not None:
            return PodPublic(storage=base + root, webid=webid), False
        session.add(Pod(id=pod_id, created_at=now))
        try:
            session.flush()  # the pod's row first: of two creations at once, one stops here
        except IntegrityError:
            return PodPublic(storage=base + root, webid=webid), False
        store.write_container(session, root, now)
        store.write(session, root + ACL_SUFFIX, "text/turtle", wac.owner_acl(base + root, webid).encode(), now)
        card = root + "profile/card"
        assert state.settings.identity_url is not None  # the settings fill it in
        store.write(
            session, card, "text/turtle", profile_document(webid, base + root, state.settings.identity_url), now
        )
        store.write(session, card + ACL_SUFFIX, "text/turtle", public_read_acl(base + card, webid), now)
        session.commit()
    return PodPublic(storage=base + root, webid=webid), True
