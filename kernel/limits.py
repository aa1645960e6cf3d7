"""Request bodies larger than the service's limit are refused with a 413 problem, unread."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.problems import PROBLEM_MEDIA_TYPE, Problem


class BodyTooLarge(Problem):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies may be at most {limit} bytes.", kind="body-too-large")


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
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # Stop reading; whatever the app makes of the cut body is replaced by the 413.
                exceeded = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def send_unless_exceeded(message: Message) -> None:
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(scope, send)

        await self.app(scope, counting_receive, send_unless_exceeded)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = BodyTooLarge(self.limit)
        body = json.dumps({
            "type": problem.type, "title": problem.title, "status": 413, "detail": problem.detail,
            "instance": scope["path"], "request_id": scope.get("state", {}).get("request_id"),
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
