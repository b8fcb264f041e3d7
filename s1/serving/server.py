"""Run the s1 predictor in KServe's ModelServer, with the OpenAI routes and request limits.

Health (`/v2/health/live`, `/v2/health/ready`, `/v1/models/<name>`) and Prometheus `/metrics`
are KServe's own; the s1 metrics (`s1_*`) join the same registry.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kserve import ModelServer
from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
from kserve.protocol.rest.server import RESTServer

from s1.serving.config import ServingConfig
from s1.serving.disconnect import CancelOnDisconnect
from s1.serving.errors import ServingError
from s1.serving.openai_routes import register_openai_routes
from s1.serving.predictor import S1Predictor

log = logging.getLogger(__name__)

# Seconds uvicorn waits for responses still being written after SIGTERM (the engines have
# stopped generating by then); well inside Kubernetes' 30 s terminationGracePeriodSeconds.
SHUTDOWN_GRACE_S = 10


class S1ModelServer(ModelServer):
    """KServe's ModelServer (REST only) listening on `host`, stopping generation on SIGTERM.

    KServe's RESTServer always binds 0.0.0.0; a local `s1 serve` should not expose the model
    to the network unless asked (`--host 0.0.0.0` in the container).

    Shutdown: uvicorn's graceful shutdown waits (up to the grace period) for open requests, and
    only then does KServe stop the models; a request generating thousands of tokens would keep
    the pod alive until SIGKILL. So the signal first stops the models (the engines abort what
    is generating; those requests are answered 503 at once), then uvicorn shuts down.
    """

    def __init__(self, host: str, http_port: int, grace_period: int):
        super().__init__(http_port=http_port, enable_grpc=False, workers=1, grace_period=grace_period)
        self.host = host

    def start(self, models: list[S1Predictor]) -> None:
        self._register_and_check_atleast_one_model_is_ready(models)
        self._rest_server = RESTServer(
            FASTAPI_APP_IMPORT_STRING,
            self.dataplane,
            self.model_repository_extension,
            self.http_port,
            access_log_format=self.access_log_format,
            workers=1,
            grace_period=self.grace_period,
            event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive,
        )
        self._rest_server.config.host = self.host
        uvicorn_server = self._rest_server._server
        handle_exit = uvicorn_server.handle_exit

        def stop_models_then_exit(sig, frame) -> None:
            for model in models:
                model.stop()
            handle_exit(sig, frame)

        # uvicorn installs `handle_exit` as its signal handler when it starts serving.
        uvicorn_server.handle_exit = stop_models_then_exit
        self.servers.append(self._rest_server.start())
        self.setup_event_loop()
        self.register_signal_handler()
        asyncio.run(self._serve())


def add_s1_routes(app: FastAPI, server: ModelServer) -> None:
    """Everything s1 adds to KServe's app: OpenAI routes, error bodies, disconnect handling."""
    register_openai_routes(app, server.registered_models)
    app.add_exception_handler(ServingError, _kserve_error)
    app.add_middleware(CancelOnDisconnect)


async def _kserve_error(_: Request, error: ServingError) -> JSONResponse:
    """KServe's error body (`{"error": message}`) with the error's own status."""
    return JSONResponse({"error": str(error)}, status_code=int(error.status), headers=error.headers)


def serve(config: ServingConfig) -> None:
    """Load the model, then serve until SIGTERM/SIGINT (blocking)."""
    from kserve.model_server import app

    config.validate()
    predictor = S1Predictor(config)
    predictor.load()
    server = S1ModelServer(host=config.host, http_port=config.port, grace_period=SHUTDOWN_GRACE_S)
    add_s1_routes(app, server)
    log.info("serving %s as %r on http://%s:%d", config.model, config.name, config.host, config.port)
    server.start([predictor])
