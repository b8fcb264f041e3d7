"""Request failures the server answers with a status and a message, never a crash."""

from __future__ import annotations

from http import HTTPStatus


class ServingError(Exception):
    """A request the server refuses or gives up on; `str(error)` is the client's message."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    # OpenAI error `type` strings, as its API and vLLM's server use them.
    kind = "server_error"

    def __init__(self, message: str, param: str = ""):
        super().__init__(message)
        self.param = param

    @property
    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ServingError):
    status = HTTPStatus.BAD_REQUEST
    kind = "invalid_request_error"


class UnknownModel(ServingError):
    status = HTTPStatus.NOT_FOUND
    kind = "model_not_found"


class Overloaded(ServingError):
    """The queue is full: try again shortly (clients and the OpenAI SDK retry 503s)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    kind = "overloaded_error"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class RequestTimeout(ServingError):
    status = HTTPStatus.GATEWAY_TIMEOUT
    kind = "timeout_error"


class ShuttingDown(ServingError):
    """The server stopped (SIGTERM) while the request was generating: retry on another replica."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    kind = "server_shutting_down"
