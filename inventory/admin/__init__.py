"""Inventory back office: locations, the read-only stock and ledger views, the stock forms, transfers,
counts, reservations, discrepancies, and stock on the catalogue's product pages. Stock changes only
through inventory.services."""
# Django's admin autodiscovery imports this package; importing the pages registers their ModelAdmins.
from . import discrepancies, documents, locations, products, reservations, stock

__all__ = ("discrepancies", "documents", "locations", "products", "reservations", "stock")
