"""Per-location stock: locations, stock levels, the movement ledger, reservations, transfers, counts and
low-stock alerts. inventory.services is the only code that changes stock.
"""
