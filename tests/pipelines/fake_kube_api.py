"""A small in-memory Kubernetes API server for the launcher tests: the real `kubernetes` client talks
HTTP to it, and it records every call as RBAC sees it (API group, resource, verb).

It keeps custom objects by (plural, name); a created job takes the next outcome from its plural's
queue ("Succeeded", "Failed", "Complete") as its condition, so tests script retries. `on_create`
hooks stand in for what the cluster would do (training pods writing summary.json to the volume);
pods are listed by label selector, so a selector that misses the operator's labels finds nothing.
(Named so that no other test folder's module shadows it.)
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlparse

CUSTOM = re.compile(r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(/(?P<name>[^/]+))?(/(?P<sub>[^/]+))?$")
CORE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(/(?P<name>[^/]+))?(/(?P<sub>[^/]+))?$")
VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


class FakeKubeAPI:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.objects: dict[tuple[str, str], dict] = {}
        self.outcomes: dict[str, list[str]] = defaultdict(list)
        self.on_create: dict[str, Callable[[dict], None]] = {}
        self.pods: list[dict] = []
        self.log_text = "step 1 loss 2.0\nstep 2 loss 1.5\n"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeKubeAPI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def kubeconfig(self, folder: Path) -> Path:
        path = folder / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "t"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "s1"}}],
        }))  # fmt: skip
        return path

    def add(self, plural: str, obj: dict, outcome: str | None = None) -> None:
        """Put an object in place as if created earlier, with a terminal condition."""
        if outcome:
            obj = {**obj, "status": {"conditions": [{"type": outcome, "status": "True", "reason": outcome}]}}
        self.objects[(plural, obj["metadata"]["name"])] = obj

    def granted(self) -> set[tuple[str, str, str]]:
        return set(self.calls)

    # ------------------------------------------------------------------ HTTP

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _reply(self, code: int, body: object) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _handle(self) -> None:
                url = urlparse(self.path)
                match = CUSTOM.match(url.path) or CORE.match(url.path)
                if not match:
                    return self._reply(404, {"kind": "Status", "code": 404})
                parts = match.groupdict()
                resource = parts["plural"] + (f"/{parts['sub']}" if parts.get("sub") else "")
                verb = VERBS.get(self.command) or ("get" if parts.get("name") else "list")
                if "watch" in parse_qs(url.query):
                    verb = "watch"
                api.calls.append((parts.get("group") or "", resource, verb))
                if CORE.match(url.path):
                    return self._core(parts)
                key = (parts["plural"], parts.get("name") or "")
                if self.command == "POST":
                    obj = self._body()
                    key = (parts["plural"], obj["metadata"]["name"])
                    if key in api.objects:
                        return self._reply(409, {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
                    obj.setdefault("metadata", {})["generation"] = 1
                    queue = api.outcomes[parts["plural"]]
                    outcome = queue.pop(0) if queue else None
                    obj["status"] = (
                        {"conditions": [{"type": outcome, "status": "True", "reason": outcome}], "observedGeneration": 1,
                         "url": f"http://{obj['metadata']['name']}.example.com"}
                        if outcome else {}
                    )  # fmt: skip
                    api.objects[key] = obj
                    if parts["plural"] in api.on_create:
                        api.on_create[parts["plural"]](obj)
                    return self._reply(201, obj)
                if key not in api.objects:
                    return self._reply(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
                if self.command == "DELETE":
                    return self._reply(200, api.objects.pop(key))
                if self.command == "PATCH":
                    api.objects[key].update({"spec": self._body().get("spec", {})})
                return self._reply(200, api.objects[key])

            def _core(self, parts: dict) -> None:
                if parts.get("sub") == "log":
                    return self._reply(200, api.log_text)
                # Equality-based label selectors, as the API server applies them.
                terms = parse_qs(urlparse(self.path).query).get("labelSelector", [""])[0]
                wanted = dict(term.split("=", 1) for term in terms.split(",") if term)
                pods = [p for p in api.pods if wanted.items() <= p["metadata"].get("labels", {}).items()]
                return self._reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods})

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        return Handler


def running_pod(name: str, container: str, labels: dict[str, str]) -> dict:
    """A pod whose `container` has started, with the labels its operator gives it."""
    return {
        "metadata": {"name": name, "namespace": "s1", "uid": f"uid-{name}", "labels": labels},
        "status": {"containerStatuses": [{"name": container, "restartCount": 0, "ready": True, "image": "i",
                                          "imageID": "i", "state": {"running": {}}}]},
    }  # fmt: skip
