"""What inventory tells the apps above it (which listen; inventory imports none of them)."""
from django.dispatch import Signal

# A transfer is about to leave its source, inside transfer_ship's transaction, after the transfer is locked and
# before any unit moves: units promised to an order there (ship-to-store) are released to travel. Args: transfer.
transfer_shipping = Signal()

# A transfer was received, inside transfer_receive's transaction, after the units are booked: units sent for an
# order are promised to it again at the destination. Args: transfer.
transfer_received = Signal()
