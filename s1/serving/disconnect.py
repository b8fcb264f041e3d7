"""ASGI middleware: when a client disconnects, cancel the handler still working for it.

Starlette stops a streaming response when its client goes away, but an ordinary handler (the
KServe V1/V2 routes, a non-streaming completion) keeps generating for nobody. This middleware
watches the connection once the request body has been read and cancels the handler's task on
`http.disconnect`; the predictor's generator then stops the engine for that request.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body_read = asyncio.Event()
        disconnected = asyncio.Event()

        async def app_receive() -> Message:
            # Once the body is in, only the watcher reads the connection; the app sees its verdict.
            if body_read.is_set():
                await disconnected.wait()
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.set()
            elif not message.get("more_body", False):
                body_read.set()
            return message

        responded = False

        async def app_send(message: Message) -> None:
            nonlocal responded
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                responded = True  # servers report "disconnect" after a complete response

        handler = asyncio.ensure_future(self.app(scope, app_receive, app_send))

        async def watch() -> None:
            await body_read.wait()
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()
            if not responded:
                handler.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await handler
        except asyncio.CancelledError:
            if not disconnected.is_set() or not handler.cancelled():
                raise  # the server is shutting down, not a client leaving
        finally:
            watcher.cancel()
            handler.cancel()  # no-op when it finished; stops it when we are cancelled ourselves
