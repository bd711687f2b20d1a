"""Money and rates as a UK shop's people read them, in every template (shop, back office, till, emails):
`{% load money %}` then `{{ amount|money:currency }}` → £1,234.50, `{{ rate|percent }}` → 20%, and distances
`{{ distance_km|miles }}` → 3.2 miles."""
from decimal import Decimal

from django import template

from core.money import format_money
from core.points import KM_PER_MILE

register = template.Library()


@register.filter
def money(amount, currency="GBP"):
    """{{ order.total_amount|money:order.currency }} → £1,234.50 (see core.money.format_money)."""
    return format_money(amount, currency)


@register.filter
def percent(rate):
    """A tax rate as printed on a receipt: 20.00 → "20%", 13.50 → "13.5%"."""
    value = Decimal(rate).normalize()
    return f"{value:f}%"



@register.filter
def miles(km):
    """A distance in kilometres as a UK shopper reads it: 5.2 → "3.2 miles", 1.6 → "1 mile"."""
    if km is None or km == "":
        return ""
    value = round(float(km) / KM_PER_MILE, 1)
    shown = f"{value:.1f}".removesuffix(".0")
    return f"{shown} mile" if shown == "1" else f"{shown} miles"
