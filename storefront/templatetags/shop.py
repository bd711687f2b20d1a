"""Template helpers for the storefront: money as shoppers read it."""
from decimal import Decimal

from django import template

from core.money import smallest_unit

register = template.Library()

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@register.filter
def money(amount, currency="GBP"):
    """20 → "£20.00", 1500 JPY → "1,500 JPY" (to the currency's smallest unit); an unknown currency is
    written after the amount."""
    if amount is None or amount == "":
        return ""
    code = (currency or "GBP").upper()
    value = Decimal(amount).quantize(smallest_unit(code))
    symbol = SYMBOLS.get(code)
    return f"{symbol}{value:,}" if symbol else f"{value:,} {code}"


@register.simple_tag
def widget(field, **attrs):
    """The field's input, tied to its help text and error message for screen readers."""
    described = [f"{field.auto_id}-help"] if field.help_text else []
    if field.errors:
        described.append(f"{field.auto_id}-error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs={k.replace("_", "-"): v for k, v in attrs.items()})


@register.filter
def get(mapping, key):
    """mapping[key] in a template, or None."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def percent(rate):
    """A tax rate as printed on a receipt: 20.00 → "20%", 13.50 → "13.5%"."""
    value = Decimal(rate).normalize()
    return f"{value:f}%"
