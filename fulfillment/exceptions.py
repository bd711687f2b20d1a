"""Fulfilment's domain errors: refusals at the pickup counter and for returns."""
from rest_framework import status

from core.exceptions import DomainError


class PickupRefused(DomainError):
    code = "pickup_refused"
    http_status = status.HTTP_409_CONFLICT


class ReturnRefused(DomainError):
    code = "return_refused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class TooManyWrongCodes(DomainError):
    code = "too_many_wrong_codes"
    http_status = status.HTTP_429_TOO_MANY_REQUESTS


class StepRefused(DomainError):
    """A fulfilment step was asked for with something missing or wrong (no carrier, too many units)."""

    code = "step_refused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class ProblemRefused(DomainError):
    """A problem with a line could not be reported, or a shopper's choice about it applied: nothing changed."""

    code = "problem_refused"
    http_status = status.HTTP_409_CONFLICT
