"""Small reference tables read on every cart change and checkout (sales channels, stores, tax rates,
delivery methods and rates) or product list (the category tree), kept in each process's memory instead of
read from the database each time.

A change to any of them through the ORM (the admin, imports, data migrations, shell) writes a new token
to the shared cache, at once and again when its transaction commits; each process compares that token
(one cache read) before answering from memory, and starts afresh when it differs, so every worker sees
the change. A bulk `update()` or raw SQL on these tables bypasses the signals: call `reference_changed()`.
With the default in-process cache (one process: the demo, tests) the same holds within the process."""
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

TOKEN_KEY = "reference-tables:token"
WATCHED = {"catalog.Category", "catalog.Channel", "catalog.TaxRate", "inventory.Location", "orders.DeliveryMethod", "orders.DeliveryRate",
           "orders.RoutingPolicy", "orders.RoutingRule"}
_memory: dict = {"token": None, "values": {}}


def reference(key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`'s answer for `key`, from this process's memory while no watched table has changed."""
    token = cache.get(TOKEN_KEY)
    if token is None:  # a fresh cache (or one that evicted it): whatever was kept may be old
        cache.add(TOKEN_KEY, uuid.uuid4().hex, None)
        token = cache.get(TOKEN_KEY)
        if token is None:  # a cache that keeps nothing: nor can this
            return compute()
    if token != _memory["token"]:
        _memory["values"] = {}
        _memory["token"] = token
    values = _memory["values"]
    if key not in values:
        values[key] = compute()
    return values[key]


def reference_changed() -> None:
    """Every process forgets what it kept; again after the transaction commits, so no process keeps what it
    read in between (the old rows)."""

    def forget():
        cache.set(TOKEN_KEY, uuid.uuid4().hex, None)
        _memory["values"] = {}

    forget()
    transaction.on_commit(forget)


def _changed(sender, **kwargs) -> None:
    if sender._meta.label in WATCHED:  # historical models in data migrations carry the same label
        reference_changed()


post_save.connect(_changed, dispatch_uid="core.reference.saved")
post_delete.connect(_changed, dispatch_uid="core.reference.deleted")
