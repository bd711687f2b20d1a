"""Signals customers sends so higher apps can follow a customer without customers importing them.

customer_identified(customer): someone has just registered or signed in (web, app or API), so we know who
they are; sent inside the registration's or sign-in's transaction.
"""
from django.dispatch import Signal

customer_identified = Signal()
