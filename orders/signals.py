"""Signals orders sends inside its transactions so fulfilment can follow without orders importing it.

order_placed(order): lines are written and stock is committed where they were routed.
order_lines_cancelled(order): some or all open units were cancelled.
"""
from django.dispatch import Signal

order_placed = Signal()
order_lines_cancelled = Signal()
