"""Catalog reads: the price of a variant on a channel at a moment."""
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from .models import Channel, Price, Variant


def price_get(*, variant: Variant, channel: Channel, at: datetime | None = None) -> Price | None:
    """The price in force: among the windows covering `at`, the one that started last."""
    moment = at or timezone.now()
    return (
        Price.objects.filter(variant=variant, channel=channel)
        .valid_at(moment)
        .order_by(F("valid_from").desc(nulls_last=True), "-id")
        .first()
    )
