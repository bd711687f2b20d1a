"""Fulfilments (ship from store, pickup with a scanned code) and returns anywhere (issue #5)."""
