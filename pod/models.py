"""The pod service's tables: pods and the resources in them (RDF and other bytes alike)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kernel.database import UtcDateTime


class PodTable(SQLModel, registry=registry()):
    """Base of every table the pod service owns."""


class Pod(PodTable, table=True):
    """One citizen's pod, named by the pod sector's pseudonym of its owner."""

    id: str = Field(primary_key=True, max_length=128)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class StoredResource(PodTable, table=True):
    """A resource or container at ``path`` (absolute within the service, e.g. ``/pods/x/notes/a.ttl``).

    RDF resources are kept as Turtle, whatever they were written in; other resources byte for byte.
    """

    __tablename__ = "pod_resource"

    path: str = Field(primary_key=True, max_length=1024)
    parent: str | None = Field(default=None, index=True, max_length=1024)
    pod_id: str = Field(index=True, max_length=128)
    content_type: str = Field(max_length=200)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    etag: str = Field(max_length=80)
    modified: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
