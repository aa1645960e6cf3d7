from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from kernel.service_app import build_service_app
from pod.settings import Settings


class PodTable(SQLModel, registry=registry()):
    """Base of this service's own tables; its domain arrives with its own issue."""


def create_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return build_service_app(settings, title="personal data pod", metadata=PodTable.metadata, transport=transport)
