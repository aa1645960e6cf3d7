"""Request bodies larger than the service's limit are refused with a 413 problem, unread."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.problems import PROBLEM_MEDIA_TYPE, Problem


class BodyTooLarge(Problem):
    """Rendered by ``BodyLimitMiddleware`` itself, before the app sees the request."""

    status, kind = 413, "body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request bodies may be at most {limit} bytes.")


class _Exceeded(Exception):
    """Raised into the app from ``receive`` when the body passes the limit."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = refused = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if not exceeded:
                message = await receive()
                received += len(message.get("body", b""))
                exceeded = received > self.limit
                if not exceeded:
                    return message
            # Never hand the app a cut body as if it had ended there: the first chunks alone may be a whole
            # request (a complete JSON object, Turtle triples) that would be carried out behind the 413.
            # Raising stops the app before it acts on the body, however often it asks again.
            raise _Exceeded()

        async def send_unless_exceeded(message: Message) -> None:
            nonlocal refused, started
            if not exceeded:
                started = started or message["type"] == "http.response.start"
                await send(message)
            elif message["type"] == "http.response.start" and not (refused or started):
                refused = True  # whatever the app answered to the error (FastAPI: a 400) becomes the 413
                await self._refuse(scope, send)

        try:
            await self.app(scope, counting_receive, send_unless_exceeded)
        except _Exceeded:
            if not (refused or started):  # an answer already under way is cut off instead
                refused = True
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = BodyTooLarge(self.limit)
        body = json.dumps(
            {
                "type": problem.type,
                "title": problem.phrase,
                "status": problem.status,
                "detail": problem.detail,
                "instance": scope["path"],
                "request_id": scope.get("state", {}).get("request_id"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": problem.status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
