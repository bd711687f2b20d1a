"""How one cell of a file is read: the parsers that turn a cell's text into a value, or raise Invalid with the
reason the merchandiser is shown. They know nothing of rows, files or the database."""
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils import timezone

from catalog.models import Price

DEFAULT_CURRENCY = Price._meta.get_field("currency").default


class Invalid(Exception):
    """A cell that cannot be read; the message is the reason shown to the merchandiser."""


def text(value: str, max_length: int, required: bool = False) -> str:
    if required and not value:
        raise Invalid("is empty")
    if len(value) > max_length:
        raise Invalid(f"is {len(value)} characters long; at most {max_length}")
    return value


def slug(value: str, max_length: int) -> str:
    text(value, max_length, required=True)
    try:
        validate_slug(value)
    except ValidationError:
        raise Invalid(f"{value!r} is not a code: use letters, digits, hyphens and underscores only") from None
    return value


_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
_WHOLE, _CURRENCY = re.compile(r"[+-]?\d+"), re.compile(r"[A-Za-z]{3}")


def flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE or not lowered:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{value!r} is not true or false")


def whole(value: str, *, minimum: int = 0, blank: int | None = None) -> int:
    if not value and blank is not None:
        return blank
    if not _WHOLE.fullmatch(value):
        raise Invalid(f"{value!r} is not a whole number" if value else "is empty; give a whole number")
    number = int(value)
    if number < minimum or number > 2_147_483_647:
        raise Invalid(f"{number} is out of range; give {minimum} or more")
    return number


def amount(value: str) -> Decimal:
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{value!r} is not an amount like 19.99" if value else "is empty; give an amount") from None
    if not parsed.is_finite() or parsed < 0:
        raise Invalid(f"{value} is not an amount of zero or more")
    if parsed != parsed.quantize(Decimal("0.01")):
        raise Invalid(f"{value} has more than two decimal places")
    if parsed >= Decimal("1e10"):
        raise Invalid(f"{value} is too large")
    return parsed.quantize(Decimal("0.01"))


def currency(value: str) -> str:
    if not value:
        return DEFAULT_CURRENCY
    if not _CURRENCY.fullmatch(value):
        raise Invalid(f"{value!r} is not a three-letter currency code such as GBP")
    return value.upper()


def moment(value: str) -> datetime | None:
    """ISO 8601 date or date and time; without an offset it is read in the shop's time zone."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value!r} is not a date and time like 2025-03-01T09:00 or 2025-03-01") from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(";") if code.strip()]


def options(value: str) -> dict[str, str]:
    """size=M;colour=Navy → {"size": "M", "colour": "Navy"}, in the order given."""
    parsed: dict[str, str] = {}
    for part in codes(value):
        name, equals, option = (s.strip() for s in part.partition("="))
        if not equals or not name or not option:
            raise Invalid(f"{part!r} is not name=value (write options as size=M;colour=Navy)")
        if name in parsed:
            raise Invalid(f"names {name!r} twice")
        parsed[name] = option
    return parsed


def known(value: str, lookup: dict[str, Any], what: str) -> Any:
    if not value:
        raise Invalid(f"is empty; give a {what}")
    if value not in lookup:
        raise Invalid(f"there is no {what} {value!r}")
    return lookup[value]
