"""Resource paths in a pod: which are allowed, which are containers, and what contains what.

Refused (400) before anything is looked up: ``..`` and ``.`` segments, empty segments (``//``),
encoded slashes or backslashes (``%2F``, ``%5C``: one resource must have one name), and control
characters, and the ACL of an ACL (``x.acl.acl``). A path ending in ``/`` is a container; ``/x`` and
``/x/`` can never both exist.
"""

from __future__ import annotations

import re

from pod.errors import InvalidPath

POD_PREFIX = "/pods/"
ACL_SUFFIX = ".acl"
MAX_PATH = 1024
_FORBIDDEN = re.compile(r"%2f|%5c|%00", re.IGNORECASE)


def is_container(path: str) -> bool:
    return path.endswith("/")


def check_path(path: str, raw_path: str) -> str:
    """``path`` (percent-decoded) itself when it and its undecoded form ``raw_path`` are a well-formed
    pod path, else a 400 problem. Dot segments are checked after decoding (``%2e%2e`` is ``..``);
    encoded slashes only before (after decoding they look like ordinary separators)."""
    if not path.startswith(POD_PREFIX) or len(path) > MAX_PATH:
        raise InvalidPath("Not a pod path.")
    if _FORBIDDEN.search(raw_path) or "\\" in path or any(ord(c) < 0x20 for c in path):
        raise InvalidPath("Encoded slashes, backslashes and control characters are not allowed in a path.")
    segments = path[1:].split("/")
    inner = segments[:-1] if is_container(path) else segments
    if any(segment in ("", ".", "..") for segment in inner):
        raise InvalidPath("Empty, '.' and '..' path segments are not allowed.")
    if path.endswith(ACL_SUFFIX * 2):
        raise InvalidPath(
            "An access control document has no access control document of its own: access to it "
            "is Control on its resource."
        )
    return path


def parent_of(path: str) -> str | None:
    """The container holding ``path`` (None for a pod's root container)."""
    trimmed = path[:-1] if is_container(path) else path
    parent = trimmed[: trimmed.rfind("/") + 1]
    return parent if len(parent) > len(POD_PREFIX) else None


def pod_root(pod_id: str) -> str:
    return f"{POD_PREFIX}{pod_id}/"


def webid_of(base_url: str, pod_id: str) -> str:
    """The pod's owner, as Solid names people: the WebID in the profile document the pod was created with."""
    return f"{base_url}{pod_root(pod_id)}profile/card#me"


def pod_of(path: str) -> str:
    return path[len(POD_PREFIX) :].split("/", 1)[0]


def twin_of(path: str) -> str:
    """The other spelling, whose existence makes ``path`` impossible (``/x`` for ``/x/`` and back)."""
    return path[:-1] if is_container(path) else path + "/"
