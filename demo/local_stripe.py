"""The Stripe double the demo pays with: localstripe on 127.0.0.1:8420, unless STRIPE_API_BASE already names
one. `manage.py demo` keeps it running while it serves; `load_demo_data` run on its own starts it for the load."""
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from orders.models import Payment
from orders.stripe_double import port_open, start_local_stripe

LOCAL_STRIPE_PORT = 8420
STATE = settings.BASE_DIR / ".localstripe.pickle"  # beside the demo's database, which its cards belong to


def local_stripe_start() -> subprocess.Popen | None:
    """Point card payments at the local double and start it unless it answers already; returns the server
    this started, if any. It keeps its state in a file of its own, so the cards of orders already in the
    database can still be captured and refunded; a database with no card payment yet starts it afresh."""
    if settings.STRIPE_API_BASE:
        return None
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{LOCAL_STRIPE_PORT}"
    if port_open(LOCAL_STRIPE_PORT):
        return None
    if not Payment.objects.filter(stripe_payment_intent__isnull=False).exists():
        STATE.unlink(missing_ok=True)
    return start_local_stripe(LOCAL_STRIPE_PORT, state=STATE)


@contextmanager
def local_stripe() -> Iterator[None]:
    """Card payments inside the block go to a Stripe double; one started here is stopped after it."""
    before = settings.STRIPE_API_BASE
    server = local_stripe_start()
    try:
        yield
    finally:
        settings.STRIPE_API_BASE = before
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
