"""Headless Chromium for report tests, driven over its DevTools pipe (no driver, no websocket).

    with HeadlessChromium() as browser:
        browser.open(path)                       # waits for the load event
        browser.evaluate("document.title")       # a JavaScript value
        png = browser.screenshot()               # the whole page

Chromium is Debian's `chromium` package (.ci/run installs it); tests skip without it.
`--remote-debugging-pipe` reads DevTools commands from fd 3 and writes replies and events to
fd 4, one JSON message per NUL-terminated chunk.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT_S = 60.0


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium on PATH (Debian: apt-get install -y chromium)")


class HeadlessChromium:
    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.width, self.height = width, height
        self._profile = tempfile.TemporaryDirectory(prefix="s1-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def pipes_as_fd_3_and_4() -> None:  # in the child, before exec
            read, write = os.dup(commands_read), os.dup(replies_write)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self._process = subprocess.Popen(
            [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
             "about:blank"],
            preexec_fn=pipes_as_fd_3_and_4, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.command("Page.enable")
        self._viewport(height)

    def __enter__(self) -> "HeadlessChromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, path: Path) -> None:
        self._events.clear()
        self.command("Page.navigate", {"url": Path(path).resolve().as_uri()})
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        reply = self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self) -> bytes:
        """The whole page as PNG (the viewport is grown to the page's height first)."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self._viewport(height)
        data = self.command("Page.captureScreenshot", {"format": "png"})["data"]
        self._viewport(self.height)
        return base64.b64decode(data)

    def command(self, method: str, params: dict | None = None) -> dict:
        return self._send(method, params, session=True)

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except (OSError, RuntimeError):
            pass
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._commands, self._replies):
            os.close(fd)
        self._profile.cleanup()

    def _viewport(self, height: int) -> None:
        self.command("Emulation.setDeviceMetricsOverride",
                     {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _send(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self._events):
            self._events.append(self._read())

    def _read(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._replies, 1 << 20) if ready else b""
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe or did not answer in time")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)
