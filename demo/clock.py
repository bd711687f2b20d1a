"""Putting what the services just wrote at the moment it happened in the demo's past.

The services stamp timezone.now(), and the models' defaults capture it, so each event of the history runs
through the services as it would today and, in the same transaction, what it wrote is moved back to the
event's moment: the rows it created and the times it set on rows it changed (an order's placing, a pickup's
ready and expiry times, the shopper saying "I'm here", a parcel's shipping, a refund, a ship-to-store
transfer's sending and receipt). Only what still carries a time from after the load began is moved, so the rows
of earlier events, already in the past, stay where they are. The stock records, written only by
inventory.services (the ledger's movements, stock levels, reservations), keep the time the demo was loaded.

Messages the history queues (confirmations, ready, shipped, refunds, reminders, review requests) are marked
sent at their moment and never delivered: nobody is mailed, texted or shown them in the console, and each
still joins the customer's timeline through notifications' message_sent signal, as a sent message does.
With no broker, delivery runs when the load's transaction commits and finds them sent already.
"""
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from customers.models import Cart, CartLine, Interaction
from fulfillment.models import Fulfillment, FulfillmentEvent, Return
from inventory.hours import collect_from
from inventory.models import Location, Transfer
from notifications.models import OutboxMessage
from notifications.signals import message_sent
from orders.models import CheckoutAttempt, Order, OrderEvent, Payment, Refund


class Clock:
    """Moves the rows an event just wrote to the event's moment; everything written before `started` is left."""

    def __init__(self) -> None:
        self.started = timezone.now()
        self.outbox_seen = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0

    def touches(self, moment: datetime, customer_id: int | None = None) -> None:
        """The messages the event queued, marked sent then, and the timeline rows it added (for the customer,
        and for whoever a message went to)."""
        queued = list(OutboxMessage.objects.filter(pk__gt=self.outbox_seen).order_by("pk"))
        if queued:
            self.outbox_seen = queued[-1].pk
            OutboxMessage.objects.filter(pk__in=[m.pk for m in queued]).update(
                status=OutboxMessage.Status.SENT, created_at=moment, sent_at=moment)
            for message in queued:
                message.status, message.created_at, message.sent_at = OutboxMessage.Status.SENT, moment, moment
                message_sent.send(sender=OutboxMessage, message=message)
        customers = {customer_id, *(m.customer_id for m in queued)} - {None}
        if customers:
            Interaction.objects.filter(customer__in=customers, created_at__gte=self.started).update(created_at=moment)

    def settle(self, moment: datetime) -> None:
        """The history's end: messages still unmarked, and any timeline row no event moved (one written for
        someone other than the customer the event named), are put at the history's last moment, not left at
        the load's (one in a few loads left a row there, depending on which pickups fell due at the last run of
        the hourly job)."""
        self.touches(moment)
        Interaction.objects.filter(created_at__gte=self.started).update(created_at=moment)

    def cart_filled(self, cart: Cart, moment: datetime) -> None:
        """The cart the shopper filled (or found open), its lines, and the changes on their timeline."""
        Cart.objects.filter(pk=cart.pk, created_at__gte=self.started).update(created_at=moment)
        Cart.objects.filter(pk=cart.pk).update(updated_at=moment)
        CartLine.objects.filter(cart=cart, updated_at__gte=self.started).update(added_at=moment, updated_at=moment)
        self.touches(moment, cart.customer_id)

    def order_placed(self, order: Order, moment: datetime, *, cart: Cart | None = None) -> None:
        """A checkout (from `cart`) or a till sale: the order, its claim, payment, status events and fulfilments,
        and the cart it closed or (at a till) took the units sold out of."""
        Order.objects.filter(pk=order.pk).update(placed_at=moment)
        if cart is not None:
            Cart.objects.filter(pk=cart.pk).update(updated_at=moment)
        elif order.customer_id:
            Cart.objects.filter(customer=order.customer_id, updated_at__gte=self.started).update(updated_at=moment)
        if order.fulfilment != Order.Fulfilment.TILL:
            CheckoutAttempt.objects.filter(order=order).update(created_at=moment)
            Fulfillment.objects.filter(order=order).update(created_at=moment)
            FulfillmentEvent.objects.filter(fulfillment__order=order).update(created_at=moment)
        if order.fulfilment == Order.Fulfilment.PICKUP:
            self._collection_placed(order, moment)
        self.order_changed(order, moment)

    def _collection_placed(self, order: Order, moment: datetime) -> None:
        """A pickup's first collection day as checkout would have promised it then, the store's part noted
        picked then when it had none (ship-to-store), and its transfers made then."""
        links = Fulfillment.transfers.through.objects.filter(fulfillment__order=order)
        sources = Location.objects.filter(pk__in=order.lines.exclude(location=order.pickup_store_id)
                                          .values("location"))
        Order.objects.filter(pk=order.pk).update(
            collect_from=collect_from(store=order.pickup_store, sources=list(sources), now=moment))
        Fulfillment.objects.filter(order=order, picked_at__isnull=False).update(picked_at=moment)
        Transfer.objects.filter(pk__in=links.values("transfer")).update(created_at=moment)

    def order_changed(self, order: Order, moment: datetime, *, refunded: bool = False) -> None:
        """Its status events and payment (captured, voided) and, when money went back, the refunds."""
        OrderEvent.objects.filter(order=order, created_at__gte=self.started).update(created_at=moment)
        Payment.objects.filter(order=order, updated_at__gte=self.started).update(updated_at=moment)
        if refunded:
            Refund.objects.filter(payment__order=order, created_at__gte=self.started).update(created_at=moment)
        self.touches(moment, order.customer_id)

    def fulfillment_moved(self, fulfillment: Fulfillment, moment: datetime, *, ready: bool = False,
                          done: bool = False, picked: bool = False, arrived: bool = False) -> None:
        """A step of a fulfilment: its status event, and the time it was ready (with its expiry), done, picked
        while a transfer was still coming, or when the shopper said they were here."""
        FulfillmentEvent.objects.filter(fulfillment=fulfillment, created_at__gte=self.started).update(created_at=moment)
        times = {
            **({"ready_at": moment, "expires_at": moment + timedelta(days=fulfillment.location.pickup_hold_days)}
               if ready else {}),
            **({"completed_at": moment} if done else {}),
            **({"arrived_at": moment} if arrived else {}),
        }
        if times:
            Fulfillment.objects.filter(pk=fulfillment.pk).update(**times)
        if picked:  # noted by the step just taken, not at the order's placing (it had nothing of the store's)
            Fulfillment.objects.filter(pk=fulfillment.pk, picked_at__gte=self.started).update(picked_at=moment)
        if arrived:  # "I'm here" is on the customer's timeline too
            self.touches(moment, fulfillment.order.customer_id)

    def transfer_moved(self, transfer: Transfer, moment: datetime) -> None:
        """A ship-to-store transfer sent or received: the time it happened."""
        Transfer.objects.filter(pk=transfer.pk, shipped_at__gte=self.started).update(shipped_at=moment)
        Transfer.objects.filter(pk=transfer.pk, received_at__gte=self.started).update(received_at=moment)

    def return_moved(self, return_request: Return, moment: datetime) -> None:
        """A return asked for online (created) or received at a desk (received, and created if it walked in)."""
        Return.objects.filter(pk=return_request.pk, created_at__gte=self.started).update(created_at=moment)
        Return.objects.filter(pk=return_request.pk, received_at__gte=self.started).update(received_at=moment)
        self.order_changed(return_request.order, moment, refunded=True)
