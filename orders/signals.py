"""Signals orders sends inside its transactions so fulfilment can follow without orders importing it.

order_placed(order): lines are written and stock is committed where they were routed.
order_lines_cancelled(order): some or all open units were cancelled.
ship_orders_counted(location_ids, since): a question routing asks of whoever keeps the ship fulfilments: each
    receiver answers {location id: ship fulfilments given since `since`} (fulfillment.receivers does).
"""
from django.dispatch import Signal

order_placed = Signal()
order_lines_cancelled = Signal()
ship_orders_counted = Signal()
