"""Per-location stock: locations, stock levels, the movement ledger, reservations, transfers and counts.

inventory.services is the only code that changes stock.
"""
