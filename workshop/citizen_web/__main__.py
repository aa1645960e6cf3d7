"""``python -m workshop.citizen_web``: serve the rights phone (settings from ``CITYGATE_CITIZEN_WEB_*``)."""

from __future__ import annotations

import uvicorn

from workshop.citizen_web.app import create_app
from workshop.citizen_web.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
