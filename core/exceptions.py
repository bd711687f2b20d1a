"""The root of every domain error, and the one place the API turns errors into JSON.

Each DomainError subclass names its HTTP status and machine code; the handler
gives every API error the same shape: {"code": ..., "message": ..., "detail": ...}.
"""
from typing import Any

from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    code = "domain_error"
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = NotFound(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        message, detail = str(data["detail"]), {}
    else:
        message, detail = "The request is not valid.", {"fields": data}
    response.data = {"code": code, "message": message, "detail": detail}
    return response


class InvalidTransition(DomainError):
    """A state machine refused a move, e.g. receiving a transfer that was never shipped."""

    code = "invalid_transition"
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, obj: object, from_: str, to: str) -> None:
        super().__init__(f"{obj} cannot go from {from_} to {to}.", from_status=from_, to_status=to)
