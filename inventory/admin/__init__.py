"""Inventory back office: locations, the read-only stock and ledger views, the stock forms, and
transfers, counts and reservations, whose stock effects run only through inventory.services.
"""
# Django's admin autodiscovery imports this package; importing the pages registers their ModelAdmins.
from . import documents, locations, reservations, stock

__all__ = ("documents", "locations", "reservations", "stock")
