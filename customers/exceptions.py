"""Customers' domain errors."""
from rest_framework import status

from core.exceptions import DomainError


class NotEnoughForCart(DomainError):
    """More of a variant was asked for than the shopper's chosen store (or delivery) can supply."""

    code = "not_enough_stock"
    http_status = status.HTTP_409_CONFLICT


class NotSoldHere(DomainError):
    code = "not_sold_on_channel"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class EmailTaken(DomainError):
    code = "email_taken"
    http_status = status.HTTP_409_CONFLICT
