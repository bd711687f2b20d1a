"""The store home: where store roles land in the back office. For the chosen store (a switcher for staff of
several), what needs doing now, each queue with its next step as a button, each figure linking to its list,
and the way to the till, the counter, the pick list and the returns desk. For collection: who is here now,
today's collection windows with what is booked in each, and what other locations are sending for pickups."""
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from fulfillment.collection import arrivals_at, pickups_by_window
from fulfillment.models import Fulfillment, Return
from fulfillment.selectors import TRANSFER_SAID, counter_said, customer_name, due_soon, fulfillment_queue
from fulfillment.steps import next_steps
from inventory.models import WEEKDAYS, Location, Transfer
from inventory.selectors import ALL_LOCATIONS_PERMISSION, locations_for_staff, low_stock_levels
from orders.models import Order

SESSION_KEY = "store_home"
SHOWN = 10  # rows per queue; the figure links to the whole list
Status = Fulfillment.Status
STORE_PERMISSIONS = ("fulfillment.view_fulfillment", "fulfillment.use_scan_station", "orders.sell_at_till")


def works_in_a_store(user) -> bool:
    """Store roles (staff of a store, without head office's view of every location) land on the store home."""
    return (user.is_active and user.is_staff and not user.is_superuser
            and not user.has_perm(ALL_LOCATIONS_PERMISSION) and Location.objects.filter(staff=user).exists())


def admin_entry(request):
    """/admin/: the store home for store roles, the admin's index for head office."""
    if works_in_a_store(request.user):
        return redirect("store-home")
    return admin.site.index(request)


def _stores(user) -> list[Location]:
    return list(locations_for_staff(user).active().stores().order_by("name"))


def _changelist(name: str, **filters) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode(filters)}"


def _queue(rows, *, title: str, link: str, note: str = "") -> dict:
    rows = list(rows)
    return {"title": title, "count": len(rows), "link": link, "note": note,
            "rows": [(f, next_steps(f), customer_name(f.order)) for f in rows[:SHOWN]]}


def store_home(request):
    stores = _stores(request.user)
    chosen = request.GET.get("store") or request.session.get(SESSION_KEY)
    store = next((s for s in stores if s.code == chosen), stores[0] if stores else None)
    context = {**admin.site.each_context(request), "title": "Store home", "stores": stores, "store": store}
    if store is None or not any(request.user.has_perm(p) for p in STORE_PERMISSIONS):
        return TemplateResponse(request, "admin/backoffice/store_home.html", context)
    request.session[SESSION_KEY] = store.code
    context.update(_work(request.user, store))
    context.update(_collection(store))
    return TemplateResponse(request, "admin/backoffice/store_home.html", context)


def _work(user, store: Location) -> dict:
    """Everything the page lists for the store, in the order a shift works through it."""
    queue = list(fulfillment_queue(user=user, location=store))
    by = {key: [f for f in queue if test(f)] for key, test in {
        "to_pick": lambda f: f.status == Status.NEW,
        "picking": lambda f: f.status == Status.PICKING and f.method == Fulfillment.Method.PICKUP,
        "to_pack": lambda f: f.status == Status.PICKING and f.method == Fulfillment.Method.SHIP,
        "to_ship": lambda f: f.status == Status.PACKED,
    }.items()}
    here = {"location__id__exact": store.pk}
    ready = list(Fulfillment.objects.filter(location=store, status=Status.READY)
                 .select_related("order__customer").order_by("ready_at"))
    returns = (Return.objects.filter(status=Return.Status.REQUESTED, order__fulfillments__location=store)
               .select_related("order").distinct().order_by("created_at"))
    incoming = (Transfer.objects.filter(destination=store, status=Transfer.Status.SHIPPED)
                .select_related("source").order_by("shipped_at"))
    low = low_stock_levels(locations=Location.objects.filter(pk=store.pk))
    return {
        "queues": [
            _queue(by["to_pick"], title="To pick", link=_changelist("fulfillment_fulfillment", status__exact="new",
                                                                     **here)),
            _queue(by["picking"], title="Being picked", link=_changelist(
                "fulfillment_fulfillment", status__exact="picking", method__exact="pickup", **here)),
            _queue(by["to_pack"], title="To pack", link=_changelist(
                "fulfillment_fulfillment", status__exact="picking", method__exact="ship", **here)),
            _queue(by["to_ship"], title="Packed, to ship", link=_changelist(
                "fulfillment_fulfillment", status__exact="packed", **here)),
        ],
        "ready": [(f, due_soon(f), customer_name(f.order)) for f in ready[:SHOWN]],
        "ready_count": len(ready),
        "ready_link": _changelist("fulfillment_fulfillment", status__exact="ready_for_pickup", **here),
        "returns": list(returns[:SHOWN]), "returns_count": returns.count(),
        "returns_link": _changelist("fulfillment_return", status__exact="requested"),
        "incoming": list(incoming[:SHOWN]), "incoming_count": incoming.count(),
        "incoming_link": _changelist("inventory_transfer", destination__id__exact=store.pk, status__exact="shipped"),
        "low_count": low.count(),
        "low_link": _changelist("inventory_stocklevel", low="yes", **here),
        "can_step": user.has_perm("fulfillment.change_fulfillment"),
    }


# Collection -------------------------------------------------------------------------------------------------

def transfer_state(transfer: Transfer) -> str:
    """A transfer still to arrive, in words: not sent yet (a draft), or on its way since a day."""
    said = TRANSFER_SAID[transfer.status].capitalize()
    if transfer.status == Transfer.Status.SHIPPED:
        return f"{said}, sent {timezone.localtime(transfer.shipped_at):%-d %b}"
    return said


def _collection(store: Location) -> dict:
    """Who is here, today's windows and the ship-to-store transfers on their way: a few queries, however many
    pickups (each list reads its rows with what it shows in one go)."""
    if not store.offers_pickup:
        return {}
    now = timezone.now()
    here = list(arrivals_at(store).select_related("order__customer"))
    links = list(Fulfillment.transfers.through.objects
                 .filter(fulfillment__location=store, transfer__status__in=(Transfer.Status.DRAFT,
                                                                             Transfer.Status.SHIPPED))
                 .exclude(fulfillment__status__in=Fulfillment.DONE)
                 .select_related("transfer__source", "fulfillment__order")
                 .order_by("fulfillment__order__collect_from", "fulfillment__order__placed_at", "transfer_id"))
    return {
        "arrivals": [{"pickup": f, "name": customer_name(f.order),
                      "minutes": max(int((now - f.arrived_at).total_seconds() // 60), 0)} for f in here],
        "windows": _windows_today(store, timezone.localdate(now)),
        "ship_to_store": [{"transfer": link.transfer, "pickup": link.fulfillment,
                           "state": transfer_state(link.transfer)} for link in links[:SHOWN]],
        "ship_to_store_count": len(links),
    }


def _windows_today(store: Location, day) -> list[dict]:
    """Today's collection windows, each with its bookings against its capacity (every order booked in it that
    is not cancelled, as checkout counts them) and the pickups booked in it still to hand over. A window the
    store no longer offers today still shows when someone booked it."""
    windows = {w.pk: w for w in store.collection_windows.filter(weekday=WEEKDAYS[day.weekday()])}
    pickups = list(pickups_by_window(store, day).select_related("order__customer"))
    for pickup in pickups:
        window = pickup.order.collect_window
        if window is not None:
            windows.setdefault(window.pk, window)
    booked = dict(Order.objects.filter(collect_window__in=list(windows), collect_on=day)
                  .exclude(status=Order.Status.CANCELLED).values_list("collect_window")
                  .annotate(n=Count("pk")).values_list("collect_window", "n").order_by())
    rows = [{"window": w, "booked": booked.get(w.pk, 0), "capacity": w.capacity,
             "offered": w.weekday == WEEKDAYS[day.weekday()] and w.location_id == store.pk,
             "pickups": [(p, customer_name(p.order), counter_said(p)) for p in pickups
                         if p.order.collect_window_id == w.pk]}
            for w in sorted(windows.values(), key=lambda w: (w.starts, w.ends))]
    withdrawn = [(p, customer_name(p.order), counter_said(p)) for p in pickups if p.order.collect_window_id is None]
    if withdrawn:
        rows.append({"window": None, "booked": len(withdrawn), "capacity": None, "offered": False,
                     "pickups": withdrawn})
    return rows
