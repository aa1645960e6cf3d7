"""Who may do what on a resource of the pod: Web Access Control (``pod.wac``) applied to the store.

The effective ACL is found by discovery (the resource's own, else the nearest container's), its
authorizations are taken from a cache of parsed ACL versions, and the owner keeps every mode
whatever the ACL says. An agent without the modes a request needs is refused: 401 when anonymous
(logging in may help), 403 otherwise.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NoReturn

from sqlmodel import Session

from pod import store, wac
from pod.errors import Forbidden, LogInRequired

Modes = frozenset[wac.Mode]


class AclCache:
    """Extracted authorizations per ACL version, so an unchanged ACL is parsed once. Keyed by the
    ACL's URL (its relative IRIs resolve against it) and ETag (a digest of its bytes): an edited ACL
    is a new key. Whether an ACL exists at all is the caller's to check on every request, so a
    deleted one is never served from here. Bounded: the least recently used version goes first."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[wac.Authorization, ...]] = OrderedDict()
        self._lock = threading.Lock()  # requests run in a thread pool

    def get(self, url: str, etag: str) -> tuple[wac.Authorization, ...] | None:
        with self._lock:
            rules = self._entries.get((url, etag))
            if rules is not None:
                self._entries.move_to_end((url, etag))
            return rules

    def put(self, url: str, etag: str, rules: tuple[wac.Authorization, ...]) -> None:
        with self._lock:
            self._entries[(url, etag)] = rules
            self._entries.move_to_end((url, etag))
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


def granted_modes(
    session: Session, cache: AclCache, base: str, path: str, agent: str | None, owner: str
) -> tuple[Modes, Modes]:
    """The modes ``agent`` (None: anonymous) has on ``path``, and those anyone has (for WAC-Allow)."""
    # One query finds which ACLs exist (and their ETags) wherever discovery may look; only an ACL
    # version not seen before is then read and parsed.
    etags = store.etags(session, [acl_path for acl_path, _ in wac.discovery_order(path)])

    def read_acl(acl_path: str) -> tuple[wac.Authorization, ...] | None:
        if acl_path not in etags:
            return None  # no such ACL now, whatever the cache holds
        url = base + acl_path
        rules = cache.get(url, etags[acl_path])
        if rules is None:
            row = store.read(session, acl_path)
            if row is None:  # deleted since the ETags were read
                return None
            rules = wac.authorizations(wac.parse_acl(row.content.decode("utf-8"), url))
            cache.put(url, row.etag, rules)  # the ETag of the bytes just parsed
        return rules

    try:
        acl = wac.effective_acl(path, read_acl)
        user = wac.allowed_modes(acl, base_url=base, resource_path=path, agent=agent)
        public = wac.allowed_modes(acl, base_url=base, resource_path=path, agent=None)
    except wac.NoAcl:
        user = public = frozenset()
    return wac.with_owner(user, agent, owner), public


def refuse(agent: str | None) -> NoReturn:
    """The agent lacks a mode the request needs."""
    if agent is None:
        raise LogInRequired()
    raise Forbidden("The resource's access control does not grant you this.")
