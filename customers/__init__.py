"""Customers: profiles, addresses and consent, the one open cart per customer (guest carts by token,
merged at sign-in), and the timeline that records every touch from every channel."""
