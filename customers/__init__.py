"""Customers, addresses, the one cart per customer and the interaction timeline (issue #3)."""
