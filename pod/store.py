"""Resources and containers in the pod's database: reading, writing with parents, deleting.

Plain functions on a session; the HTTP layer (``pod.ldp``) decides who may call them.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from kernel.database import SQLITE_BUSY_TIMEOUT_MS
from kernel.problems import NotFound
from pod.errors import ContainerNotEmpty, PathConflict, PodBusy
from pod.models import Pod, StoredResource
from pod.paths import ACL_SUFFIX, is_container, parent_of, pod_of, twin_of

CONTAINER_TYPE = "text/turtle"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def etag_of(content_type: str, content: bytes) -> str:
    digest = hashlib.sha256(content_type.encode() + b"\0" + content).hexdigest()[:32]
    return f'"{digest}"'


def is_auxiliary(path: str) -> bool:
    """An ACL document: it belongs to its resource and is not listed as a container member."""
    return path.endswith(ACL_SUFFIX)


def lock_pod(session: Session, *pod_ids: str, wait_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Make this transaction the only writer of the pod (or pods, locked in one order) until it ends:
    every write to a pod first waits here, so a read-modify-write (PATCH, a conditional PUT, creating
    parent containers, DELETE of a container) cannot interleave with another and lose an update or collide on a new row.

    Must be the session's first statement, so that what it reads afterwards is what the previous
    writer committed (nothing is served from an earlier snapshot or the identity map). SQLite:
    ``BEGIN IMMEDIATE`` takes the database's write lock now rather than at the first write.
    PostgreSQL: a row lock on the pod (``SELECT ... FOR UPDATE``); a pod that does not exist has
    nothing to lock, and nothing of it can be written. Either waits at most ``wait_ms``, then
    answers 503 ``pod-busy`` (never a 500, never a request hanging on a lock)."""
    try:
        if session.get_bind().dialect.name == "sqlite":
            connection = session.connection()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:  # the pooled connection keeps the engine's own timeout for everything else
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        else:
            session.connection().execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
            session.exec(select(Pod.id).where(col(Pod.id).in_(pod_ids)).order_by(Pod.id).with_for_update()).all()
    except OperationalError as error:  # SQLite "database is locked", PostgreSQL LockNotAvailable
        session.rollback()
        raise PodBusy() from error


def read(session: Session, path: str) -> StoredResource | None:
    return session.get(StoredResource, path)


def etags(session: Session, paths: list[str]) -> dict[str, str]:
    """The ETag of each of ``paths`` that exists, in one query and without loading any content."""
    rows = session.exec(select(StoredResource.path, StoredResource.etag).where(col(StoredResource.path).in_(paths)))
    return dict(rows.all())


def member_paths(session: Session, container: str) -> list[str]:
    """The paths of ``container``'s members, in order; a listing needs no member's content."""
    paths = session.exec(
        select(StoredResource.path).where(StoredResource.parent == container).order_by(StoredResource.path)
    )
    return [path for path in paths if not is_auxiliary(path)]


def members(session: Session, container: str) -> list[StoredResource]:
    rows = session.exec(select(StoredResource).where(StoredResource.parent == container).order_by(StoredResource.path))
    return [row for row in rows if not is_auxiliary(row.path)]


def write(session: Session, path: str, content_type: str, content: bytes, now: datetime) -> bool:
    """Create or replace ``path`` (missing parent containers are created); True when created."""
    if read(session, twin_of(path)) is not None:
        raise PathConflict(f"{twin_of(path)} exists; {path} cannot exist beside it.")
    ensure_parents(session, path, now)
    existing = read(session, path)
    if existing is None:
        session.add(
            StoredResource(
                path=path,
                parent=parent_of(path),
                pod_id=pod_of(path),
                content_type=content_type,
                content=content,
                etag=etag_of(content_type, content),
                modified=now,
            )
        )
        return True
    existing.content_type, existing.content = content_type, content
    existing.etag, existing.modified = etag_of(content_type, content), now
    session.add(existing)
    return False


def ensure_parents(session: Session, path: str, now: datetime) -> None:
    parent = parent_of(path)
    missing: list[str] = []
    while parent is not None and read(session, parent) is None:
        if read(session, twin_of(parent)) is not None:
            raise PathConflict(f"{twin_of(parent)} is a resource, so {parent} cannot be a container.")
        missing.append(parent)
        parent = parent_of(parent)
    for container in reversed(missing):
        write_container(session, container, now)


def write_container(session: Session, path: str, now: datetime, turtle: bytes = b"") -> None:
    session.add(
        StoredResource(
            path=path,
            parent=parent_of(path),
            pod_id=pod_of(path),
            content_type=CONTAINER_TYPE,
            content=turtle,
            etag=etag_of(CONTAINER_TYPE, turtle + now.isoformat().encode()),
            modified=now,
        )
    )


def new_member_path(session: Session, container: str, slug: str | None, container_wanted: bool) -> str:
    """Where a POST to ``container`` puts its new member: the Slug when free and clean, else a uuid."""
    name = _SLUG.sub("-", slug or "").strip("-.")[:100] or str(uuid.uuid4())
    if is_auxiliary(name):
        name = name + "-resource"
    for candidate in (name, f"{name}-{uuid.uuid4().hex[:8]}"):
        path = container + candidate + ("/" if container_wanted else "")
        if read(session, path) is None and read(session, twin_of(path)) is None:
            return path
    raise AssertionError("a fresh uuid suffix cannot be taken")


def delete(session: Session, path: str) -> None:
    resource = read(session, path)
    if resource is None:
        raise NotFound("No such resource.")
    if is_container(path) and member_paths(session, path):
        raise ContainerNotEmpty()
    acl = read(session, path + ACL_SUFFIX)
    if acl is not None:
        session.delete(acl)
    session.delete(resource)
