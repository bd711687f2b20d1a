"""Low-stock alerts: each store is told by email, once a day per item, what has fallen to its reorder
point, so it can ask for a transfer or reorder before the shelf is empty."""
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.recipients import Recipient
from notifications.services import message_queue

from .models import Location, LowStockAlert
from .selectors import low_stock_levels


def low_stock_alerts_send(*, now: datetime | None = None) -> int:
    """Tell each store what is at or below its reorder point. Safe to run twice at once: an item is
    listed only by the run that recorded its alert for the day."""
    day = timezone.localdate(now or timezone.now())
    low = (low_stock_levels(locations=Location.objects.exclude(email=""))
           .select_related("location", "variant__product").order_by("location_id", "variant__sku"))
    by_store: dict[Location, list] = {}
    for level in low:
        by_store.setdefault(level.location, []).append(level)
    sent = 0
    for store, levels in by_store.items():
        with transaction.atomic():
            rows, first_alert = [], None
            for level in levels:
                try:
                    with transaction.atomic():
                        alert = LowStockAlert.objects.create(location=store, variant=level.variant, day=day,
                                                             available=level.units)
                except IntegrityError:  # already alerted today (maybe by a run happening right now)
                    continue
                first_alert = first_alert or alert
                rows.append({"sku": level.variant.sku, "name": level.variant.name, "available": level.units,
                             "reorder_point": level.reorder_point})
            if rows:
                # One email per run that found something new: an item that falls low later the same day
                # is told in its own email (the outbox keeps one message per reference).
                message_queue(template="low_stock", context={"store": store, "rows": rows},
                              to=Recipient(email=store.email), reference=f"low-stock:{store.code}:{first_alert.pk}")
                sent += 1
    return sent
