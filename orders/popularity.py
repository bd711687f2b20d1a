"""Popularity: the units of each product sold over the last 30 days (catalog.Product.units_sold_30d), which the shop's
"Popular right now" and the `popular` sort read. The catalogue may not read orders, so the orders keep the figure:
hourly (config/schedule.py) and once the demo's history is loaded.

A column rather than a sum over order lines at every read: sorting a search's few thousand matches by a sum over their
lines would cost each read what the hourly refresh costs once (bench/search.py --popularity-by-lines measures both).
"""
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from catalog.models import Product, Variant

from .models import Order, OrderLine

POPULAR_DAYS = 30


def products_popularity_refresh(*, now: datetime | None = None) -> int:
    """Set each product's units_sold_30d to its units sold in the 30 days up to `now` (default: now) on every channel:
    those ordered less those cancelled, in orders not cancelled (a unit returned still sold). One UPDATE that writes
    only the products whose figure changed; returns how many did."""
    now = now or timezone.now()
    moments = [connection.ops.adapt_datetimefield_value(m) for m in (now - timedelta(days=POPULAR_DAYS), now)]
    product, variant, line, order = (m._meta.db_table for m in (Product, Variant, OrderLine, Order))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {product} SET units_sold_30d = fresh.units"
            f" FROM (SELECT p.id, COALESCE(sold.units, 0) AS units FROM {product} p LEFT JOIN ("
            f"        SELECT v.product_id, SUM(l.quantity - l.quantity_cancelled) AS units"
            f"          FROM {line} l JOIN {order} o ON o.id = l.order_id JOIN {variant} v ON v.id = l.variant_id"
            f"         WHERE o.placed_at > %s AND o.placed_at <= %s AND o.status <> %s"
            f"         GROUP BY v.product_id) sold ON sold.product_id = p.id) AS fresh"
            f" WHERE {product}.id = fresh.id AND {product}.units_sold_30d <> fresh.units",
            [*moments, Order.Status.CANCELLED])
        return cursor.rowcount
