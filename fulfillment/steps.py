"""A fulfilment's next steps as staff pages offer them (its page, the store home, the pick list): which
steps its status allows now, and taking one through fulfillment.services, in words for the message."""
from dataclasses import dataclass

from orders.services import order_cancel

from . import services
from .exceptions import PickupRefused, StepRefused
from .models import Fulfillment
from .problems import line_problem_report, problem_said

Status = Fulfillment.Status
CARRIERS = ("Royal Mail", "Parcelforce", "DPD", "Evri", "DHL", "UPS", "Yodel")
MAX_PARCELS = 50


@dataclass(frozen=True)
class Step:
    slug: str
    label: str
    confirm: str = ""  # asked before a step that cannot be undone
    form: str = ""  # a step that needs more than a click: "pack"


def next_steps(fulfillment: Fulfillment) -> list[Step]:
    """What can be done next, most likely first. A pickup can be marked ready straight from new (picked in
    one go); a parcel is packed (carrier and tracking number) before it ships."""
    pickup = fulfillment.method == Fulfillment.Method.PICKUP
    if fulfillment.status == Status.NEW:
        return [Step("ready", "Picked: mark ready for pickup"), Step("pick", "Start picking")] if pickup else [
            Step("pick", "Start picking")]
    if fulfillment.status == Status.PICKING:
        return [Step("ready", "Mark ready for pickup")] if pickup else [Step("pack", "Pack", form="pack")]
    if fulfillment.status == Status.PACKED:
        return [Step("ship", "Ship", confirm="Ship this parcel? The stock leaves the store, the shopper is told "
                                             "and the card is charged.")]
    if fulfillment.status == Status.SHIPPED:
        return [Step("delivered", "Mark delivered", confirm="Mark this parcel delivered?")]
    return []


def take(step: str, *, fulfillment: Fulfillment, data, actor) -> str:
    """Take one step (a button press; `data` is the posted form) and say what happened. Pressing a step that
    has already been taken (two staff at once, a double click) changes nothing the second time."""
    if step == "pick":
        services.fulfillment_start_picking(fulfillment=fulfillment, actor=actor)
        return "being picked."
    if step == "ready":
        return _ready(fulfillment, shelf=data.get("shelf") or "", actor=actor)
    if step == "shelve":
        shelf = services.fulfillment_shelve(fulfillment=fulfillment, shelf=data.get("shelf") or "", actor=actor).shelf
        return f"on shelf {shelf}." if shelf else "not on a shelf any more."
    if step == "pack":
        packed = services.fulfillment_pack(fulfillment=fulfillment, actor=actor, **_parcel(data))
        return f"packed: {packed.carrier} {packed.tracking_number}."
    if step == "ship":
        services.fulfillment_ship(fulfillment=fulfillment, actor=actor)
        return "shipped; the shopper is told and the payment taken."
    if step == "delivered":
        services.fulfillment_mark_delivered(fulfillment=fulfillment, actor=actor)
        return "delivered."
    if step == "cancel-line":
        line, units = _line_to_cancel(fulfillment, data)
        order_cancel(order=fulfillment.order, lines={line.pk: units}, actor=actor,
                     note=f"{units} × {line.sku} cancelled at {fulfillment.location.code}")
        return f"{units} × {line.sku} cancelled; the shopper is not charged for it."
    if step == "problem":
        return problem_report(fulfillment=fulfillment, data=data, actor=actor)
    raise StepRefused(f"There is no step called {step!r}.", field="step")


def _ready(fulfillment: Fulfillment, *, shelf: str, actor) -> str:
    """Mark a pickup ready, on the shelf staff name (optional; put there first, so a shelf refused changes
    nothing). A ship-to-store pickup whose transfers are not all in is noted as picked and readies itself when
    they arrive: said in words, as news rather than a refusal."""
    shelf = " ".join(str(shelf).split())
    if shelf:
        services.fulfillment_shelve(fulfillment=fulfillment, shelf=shelf, actor=actor)
    if fulfillment.status == Status.NEW:
        services.fulfillment_start_picking(fulfillment=fulfillment, actor=actor)
    try:
        ready = services.fulfillment_mark_ready(fulfillment=fulfillment, actor=actor)
    except PickupRefused as refused:
        if refused.detail.get("reason") != "awaiting_transfer":
            raise
        return refused.message
    return (f"ready for pickup with code {ready.pickup_code}; the shopper is told."
            + (f" On shelf {ready.shelf}." if ready.shelf else ""))


def problem_report(*, fulfillment: Fulfillment, data, actor) -> str:
    """A problem with a line reported from a staff page (its posted form), and what became of the units."""
    line = (data.get("line") or "").strip()
    if not (line.isascii() and line.isdigit()) or len(line) > 18:
        raise StepRefused("Choose the line that has a problem.", field="line")
    numbers = {}
    for name, label in (("units", "units that cannot be sent"), ("on_shelf", "units left on the shelf"),
                        ("open_seen", "units to pick")):
        value = (data.get(name) or "").strip()
        if value and (not (value.isascii() and value.isdigit()) or len(value) > 7):
            raise StepRefused(f"Give the {label} as a whole number.", field=name)
        numbers[name] = int(value) if value else None
    problem = line_problem_report(
        fulfillment=fulfillment, order_line_id=int(line), reason=(data.get("reason") or "").strip(),
        quantity=numbers["units"], on_shelf=numbers["on_shelf"] or 0, open_seen=numbers["open_seen"], actor=actor,
        idempotency_key=(data.get("key") or "").strip()[:100] or None)
    return problem_said(problem)


def _parcel(data) -> dict:
    carrier = (data.get("carrier") or "").strip()
    if not carrier:
        raise StepRefused("Choose or type the carrier.", field="carrier")
    parcels = (data.get("parcels") or "1").strip()
    if not parcels.isdigit() or not 1 <= int(parcels) <= MAX_PARCELS:
        raise StepRefused(f"Give the number of parcels, 1 to {MAX_PARCELS}.", field="parcels")
    return {"carrier": carrier[:40], "tracking_number": (data.get("tracking_number") or "").strip()[:64],
            "parcels": int(parcels)}


def _line_to_cancel(fulfillment: Fulfillment, data):
    line = next((fl.order_line for fl in fulfillment.lines.select_related("order_line")
                 if str(fl.order_line_id) == str(data.get("line"))), None)
    if line is None:
        raise StepRefused("Choose a line of this fulfilment to cancel.", field="line")
    units = (data.get("units") or "").strip()
    if not units.isdigit() or not 1 <= int(units) <= line.quantity_open:
        raise StepRefused(f"{line.sku}: cancel between 1 and {line.quantity_open} unit(s).", field="units")
    return line, int(units)
