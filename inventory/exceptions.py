"""Inventory's domain errors. Each says what was refused and why; nothing is changed when one is raised."""
from dataclasses import asdict, dataclass

from rest_framework import status

from core.exceptions import DomainError


@dataclass(frozen=True)
class ShortLine:
    sku: str
    location: str
    wanted: int
    available: int


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, lines: list[ShortLine]) -> None:
        self.lines = lines
        described = "; ".join(f"{l.sku} at {l.location}: wanted {l.wanted}, available {l.available}" for l in lines)
        super().__init__(f"Not enough stock: {described}.", lines=[asdict(l) for l in lines])


class StockConflict(DomainError):
    """A bucket would go below zero, e.g. shipping more than was committed."""

    code = "stock_conflict"
    http_status = status.HTTP_409_CONFLICT


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    http_status = status.HTTP_400_BAD_REQUEST


class ReservationExpired(DomainError):
    code = "reservation_expired"
    http_status = status.HTTP_409_CONFLICT


class LocationNotFound(DomainError):
    code = "location_not_found"
    http_status = status.HTTP_404_NOT_FOUND


class NotOnStaff(DomainError):
    """Staff asked about a location they do not work at."""

    code = "not_on_staff"
    http_status = status.HTTP_403_FORBIDDEN
