"""Money and rates as a UK shop's people read them, in every template (shop, back office, till, emails):
`{% load money %}` then `{{ amount|money:currency }}` → £1,234.50, `{{ rate|percent }}` → 20%."""
from decimal import Decimal

from django import template

from core.money import smallest_unit

register = template.Library()

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@register.filter
def money(amount, currency="GBP"):
    """20 → "£20.00", 1234.5 → "£1,234.50", 1500 JPY → "1,500 JPY" (to the currency's smallest unit); an
    unknown currency is written after the amount; a negative amount as −£5.00."""
    if amount is None or amount == "":
        return ""
    code = (currency or "GBP").upper()
    value = Decimal(amount).quantize(smallest_unit(code))
    sign, value = ("−", -value) if value < 0 else ("", value)
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{value:,}" if symbol else f"{sign}{value:,} {code}"


@register.filter
def percent(rate):
    """A tax rate as printed on a receipt: 20.00 → "20%", 13.50 → "13.5%"."""
    value = Decimal(rate).normalize()
    return f"{value:f}%"
