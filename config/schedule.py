"""The periodic jobs every install runs, stored for django-celery-beat's DatabaseScheduler.

Every `migrate` applies them (config/apps.py, post_migrate), so a fresh install has them and an
existing one picks up changes; `manage.py sync_periodic_jobs` does the same on demand.
Each job is safe to run twice at once and on an empty database.
"""
JOBS = [
    # (name, task, every N seconds)
    ("Release expired stock holds", "inventory.tasks.release_expired_reservations", 60),
    ("Send queued messages (outbox sweep)", "notifications.tasks.deliver_pending_messages", 300),
    ("Expire uncollected pickups", "fulfillment.tasks.expire_uncollected_pickups", 3600),
    ("Remind shoppers of pickups about to expire", "fulfillment.tasks.remind_pickups", 3600),
    ("Ask for reviews after fulfilment", "fulfillment.tasks.request_reviews", 3600),
    ("Remind shoppers of abandoned carts", "orders.tasks.send_abandoned_cart_reminders", 3600),
    ("Alert stores of low stock", "inventory.tasks.send_low_stock_alerts", 3600),
    ("Capture payments still due", "orders.tasks.capture_due_payments", 900),
    ("Refund cancelled units still due", "orders.tasks.refund_overcharged_payments", 900),
    ("Release card holds nothing will charge", "orders.tasks.void_stray_authorisations", 900),
    ("Refund received returns still due", "fulfillment.tasks.refund_due_returns", 900),
    ("Finish or let go of checkouts left unfinished", "orders.tasks.settle_unfinished_checkouts", 60),
    ("Charge ready pickups before their card authorisation lapses", "fulfillment.tasks.charge_pickups_before_lapse",
     3600),
    ("Tell stores of card authorisations about to lapse", "orders.tasks.report_lapsing_authorisations", 3600),
    ("Drop short-picked units the shopper did not choose for", "fulfillment.tasks.settle_line_problems", 900),
    ("Count what sold most over the last 30 days (popular products)", "orders.tasks.refresh_popularity", 3600),
    ("Work out the products' lowest prices for sorting by price", "catalog.tasks.refresh_prices_from", 60),
]


def sync_periodic_jobs(PeriodicTask, IntervalSchedule) -> int:
    """Create or update each job (models passed in, so a migration can use its historical ones)."""
    for name, task, seconds in JOBS:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})
    return len(JOBS)
