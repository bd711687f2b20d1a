"""Journeys use the same Stripe double and shelves as the order tests."""
from tests.orders.conftest import _uses_stripe_double, shelf, stripe_double, warehouse  # noqa: F401
