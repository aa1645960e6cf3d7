"""The pod's typed state and the dependencies its routes take (``kernel.state``).

There is no ``PolicyDep``: the pod exists only in the rights regime, so it has no regime difference
to decide and no policy object (see the package's docstring). Its writes are serialised by a lock
in the database (``pod.store.lock_pod``), not in the process: several processes may serve one pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from kernel.state import ServiceState, state_of
from pod.access_control import AclCache
from pod.paths import check_path
from pod.settings import Settings


@dataclass(kw_only=True, eq=False)
class PodState(ServiceState[Settings]):
    """What the pod's routes use besides the kernel's: the parsed ACLs by (URL, ETag), so an
    unchanged ACL is parsed once."""

    acl_cache: AclCache = field(default_factory=AclCache)

    @property
    def base_url(self) -> str:
        """Where the pod is reached: resource URLs, WebIDs and ACL targets start with it."""
        assert self.settings.public_url is not None  # the settings fill it in
        return self.settings.public_url


async def pod_state(request: Request) -> PodState:
    return state_of(request.app, PodState)


StateDep = Annotated[PodState, Depends(pod_state)]


async def pod_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(pod_settings)]


async def resource_path(request: Request) -> str:
    """The requested path, checked before anything else is looked at (``pod.paths.check_path``):
    the decoded path and the raw one, whose encoded slashes decoding would hide."""
    raw = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
    return check_path(request.scope["path"], raw or request.scope["path"])


ResourcePath = Annotated[str, Depends(resource_path)]
