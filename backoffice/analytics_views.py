"""The analytics page at /admin/analytics/: a period picker, the period's totals against the period before,
server-drawn SVG charts with their tables, and each table as CSV (?format=csv&table=...). Needs
backoffice.view_analytics; store staff see their stores, and only head office sees visits and conversion."""
import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.dateformat import format as date_format

from core.money import format_money
from inventory.selectors import ALL_LOCATIONS_PERMISSION, locations_for_staff

from . import analytics
from .analytics import Period

PERMISSION = "backoffice.view_analytics"
DEFAULT_DAYS = 30
LONGEST_PERIOD = timedelta(days=366 * 3)
LOW_STOCK_SHOWN = 50


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The period must start on or before the day it ends.")
        if start and end and end - start > LONGEST_PERIOD:
            raise forms.ValidationError("Choose a period of at most three years.")
        return cleaned


@dataclass
class Table:
    """One table of the page: its columns (key, heading) and rows, and the chart drawn from it: bars of one
    column, labelled by one or more others, or (timeline) revenue per day or week against the period before."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    bar_label: str | tuple[str, ...] = ""
    bar_value: str = ""
    note: str = ""
    money: tuple[str, ...] = ()  # columns of amounts in the row's currency
    timeline: bool = False
    chart: dict = field(default_factory=dict)

    @property
    def values(self) -> list[list]:
        return [[row[key] for key, _ in self.columns] for row in self.rows]

    @property
    def cells(self) -> list[list[dict]]:
        """The values as the page shows them: amounts in their currency (£1,234.50), numbers to the right."""
        return [[{"value": row[key], "currency": row["currency"] if key in self.money else "",
                  "number": isinstance(row[key], int | Decimal)} for key, _ in self.columns] for row in self.rows]

    def label(self, row: dict) -> str:
        keys = (self.bar_label,) if isinstance(self.bar_label, str) else self.bar_label
        return " / ".join(str(row[key]) for key in keys)

    def shown(self, row: dict, key: str) -> str:
        value = row[key]
        if value is None:
            return "–"
        return format_money(value, row["currency"]) if key in self.money else str(value)


def _tables(period: Period, locations, *, head_office: bool,
            low_stock_limit: int | None) -> dict[str, Callable[[], Table]]:
    """Each table by key, built only when called: the CSV of one table runs that table's queries alone.
    Tables of visits are head office's only: visits belong to no store."""
    money = [("currency", "Currency")]
    scope = {"period": period, "locations": locations}
    visits = [("visits", "Visits"), ("conversion", "Conversion %")] if head_office else []
    previous = period.previous
    return {
        "sales_over_time": lambda: Table(
            "sales_over_time", "Sales over time",
            [("start", "Week starting" if analytics.by_week(period) else "Date"), ("orders", "Orders"),
             ("revenue", "Revenue"), ("previous_orders", "Previous orders"), ("previous_revenue", "Previous revenue"),
             ("change", "Revenue change %"), *money],
            analytics.sales_over_time(**scope),
            note=f"Each {'week (the first and last may be part weeks)' if analytics.by_week(period) else 'day'} "
                 f"beside the same days of the {period.days} days before ({_day(previous.first, True)} to "
                 f"{_day(previous.last, True)}); revenue as in Sales by channel.",
            money=("revenue", "previous_revenue"), timeline=True),
        "sales_by_channel": lambda: Table(
            "sales_by_channel", "Sales by channel",
            [("channel", "Channel"), ("orders", "Orders"), ("revenue", "Revenue"), *money],
            analytics.sales_by_channel(**scope), "channel", "revenue",
            "Orders placed in the period; revenue after vouchers, less cancelled units.", money=("revenue",)),
        "sales_by_store": lambda: Table(
            "sales_by_store", "Sales by store",
            [("store", "Store"), ("name", "Name"), ("orders", "Orders"), ("revenue", "Revenue"), *money],
            analytics.sales_by_store(**scope), "store", "revenue",
            "By the location each line is sent from, handed over at or sold at.", money=("revenue",)),
        "sales_by_source": lambda: Table(
            "sales_by_source", "Sales by source / medium (last touch)",
            [("source", "Source"), ("medium", "Medium"), ("orders", "Orders"), ("revenue", "Revenue"), *money,
             *visits],
            analytics.sales_by_source(**scope, with_visits=head_office), ("source", "medium"), "revenue",
            "Where the shopper came from last before ordering. (in store): till sales; (unknown): orders from "
            "before sources were recorded." + (
                " Conversion % = orders ÷ visits in the period (an order may follow a visit from before it); sources "
                "that brought visits and no sale are listed last." if head_office else ""),
            money=("revenue",)),
        "sales_by_first_touch": lambda: Table(
            "sales_by_first_touch", "Sales by first touch",
            [("source", "Source"), ("medium", "Medium"), ("orders", "Orders"), ("revenue", "Revenue"), *money],
            analytics.sales_by_first_touch(**scope), ("source", "medium"), "revenue",
            "What brought the customer in the first place: the source of their first recorded visit.",
            money=("revenue",)),
        **({"conversion_by_channel": lambda: Table(
            "conversion_by_channel", "Conversion by channel",
            [("channel", "Channel"), ("visits", "Visits"), ("orders", "Orders"), ("conversion", "Conversion %")],
            analytics.conversion_by_channel(**scope), "channel", "conversion",
            "Online channels: visits in the period, orders placed on the channel, conversion % = orders ÷ visits."),
            } if head_office else {}),
        "pickups_by_store": lambda: Table(
            "pickups_by_store", "Pickups by store",
            [("store", "Store"), ("name", "Name"), ("pickups", "Pickup orders"),
             ("hours_to_ready", "Avg hours order → ready"), ("hours_to_collect", "Avg hours ready → collected"),
             ("collected", "Collected"), ("expired", "Not collected"), ("uncollected_rate", "Uncollected %")],
            analytics.pickups_by_store(**scope), "store", "uncollected_rate",
            "Pickup orders placed in the period. Uncollected % = not collected in time ÷ (collected + not "
            "collected)."),
        "arrival_to_handover": lambda: Table(
            "arrival_to_handover", "Arrival to hand-over by store",
            [("store", "Store"), ("name", "Name"), ("handed_over", "Handed over after “I'm here”"),
             ("average", "Avg minutes"), ("median", "Median minutes"), ("p90", "90th percentile minutes")],
            analytics.arrival_to_handover_by_store(**scope), "store", "median",
            "Pickups handed over in the period whose shopper said “I'm here” first: minutes from saying it to "
            "being handed the order. Half waited no longer than the median; nine in ten no longer than the 90th "
            "percentile."),
        "ship_to_store_by_store": lambda: Table(
            "ship_to_store_by_store", "Ship-to-store pickups by store",
            [("store", "Store"), ("name", "Name"), ("pickups", "Pickup orders"),
             ("ship_to_store", "Ship-to-store"), ("share", "Ship-to-store %")],
            analytics.ship_to_store_by_store(**scope), "store", "ship_to_store",
            "Pickup orders placed in the period, and those for which another location sent units to the store on "
            "a transfer."),
        "short_picks_by_store": lambda: Table(
            "short_picks_by_store", "Short picks and re-routes by store",
            [("store", "Store"), ("name", "Name"), ("asked", "Units asked"), ("short", "Units short"),
             ("short_rate", "Short-pick %"), ("fill_rate", "Fill rate %"), ("rerouted", "Re-routed"),
             ("lost", "Dropped or cancelled"), ("awaiting", "Awaiting shopper's choice"),
             ("reason", "Most common reason")],
            analytics.short_picks_by_store(**scope), "store", "short_rate",
            "Fulfilments created in the period, by the store asked to send them. Units short: units staff could not "
            "send (not found, damaged, wrong item, worn display); short-pick % = short ÷ asked. Fill rate % = units "
            "sent ÷ units asked, of fulfilments shipped, delivered, collected or cancelled (a pickup not collected "
            "in time is left out: the store had it ready). Re-routed: sent or collected from another location, or "
            "delivered instead; most common reason by units."),
        "ship_capacity": lambda: Table(
            "ship_capacity", "Ship-from-store capacity",
            [("store", "Location"), ("name", "Name"), ("ship_days", "Ships on"), ("capacity", "Ship orders a day"),
             ("today", "Ship orders today"), ("today_use", "Today % of capacity"), ("days", "Ship days in period"),
             ("orders", "Ship orders on them"), ("average_use", "Avg daily use %"),
             ("full_days", "Days at capacity")],
            analytics.ship_capacity(**scope), "store", "average_use",
            "Locations with a daily limit on ship orders (every ship order created on a day counts, even if "
            "cancelled since); today whatever the period. Avg daily use % = ship orders on its ship days in the "
            "period, up to today, ÷ (those days × its limit as set now). Today % is blank on a day it does not "
            "ship. At its limit, or on a day it does not ship, routing sends new delivery orders elsewhere where "
            "it can."),
        "returns_by_channel": lambda: Table(
            "returns_by_channel", "Returns by channel",
            [("channel", "Channel"), ("returns", "Returns"), ("received", "Received"), ("units", "Units"),
             ("refunded", "Refunded")],
            analytics.returns_by_channel(**scope), "channel", "returns",
            "Returns started in the period, by the channel they were started on."),
        "returns_by_store": lambda: Table(
            "returns_by_store", "Returns by receiving store",
            [("store", "Store"), ("name", "Name"), ("returns", "Returns"), ("received", "Received"),
             ("units", "Units"), ("refunded", "Refunded")],
            analytics.returns_by_store(**scope), "store", "returns",
            "Returns started in the period and received at the store."),
        "low_stock_by_store": lambda: Table(
            "low_stock_by_store", "Low stock by store",
            [("store", "Store"), ("name", "Name"), ("skus", "SKUs at/below reorder point"),
             ("out_of_stock", "Of which none available")],
            analytics.low_stock_by_store(locations=locations), "store", "skus",
            "Now, whatever the period: stock levels whose available units are at or below their reorder point."),
        "low_stock_lines": lambda: Table(
            "low_stock_lines", "Low stock lines",
            [("store", "Store"), ("sku", "SKU"), ("product", "Product"), ("available", "Available"),
             ("reorder_point", "Reorder point")],
            analytics.low_stock_lines(locations=locations, limit=low_stock_limit),
            note="The emptiest first" + (f"; the first {low_stock_limit} (the CSV has them all)."
                                         if low_stock_limit else ".")),
    }


# Inline SVG bars: label column, then a bar scaled to the largest value, then the value.
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT, BAR_HEIGHT = 150, 360, 24, 16


def _chart(table: Table) -> dict:
    if not table.bar_value:
        return {}
    values = [row[table.bar_value] or 0 for row in table.rows]
    if not any(values):
        return {}
    top = max(values)
    bars = [
        {"label": table.label(row), "value": table.shown(row, table.bar_value),
         "y": i * ROW_HEIGHT, "text_y": i * ROW_HEIGHT + BAR_HEIGHT - 3,
         "width": round(BAR_WIDTH * float(value) / float(top), 1),
         "value_x": round(LABEL_WIDTH + 6 + BAR_WIDTH * float(value) / float(top), 1)}
        for i, (row, value) in enumerate(zip(table.rows, values, strict=True))
    ]
    heading = dict(table.columns)[table.bar_value]
    return {"bars": bars, "height": len(bars) * ROW_HEIGHT, "width": LABEL_WIDTH + BAR_WIDTH + 90,
            "label_width": LABEL_WIDTH, "label_x": LABEL_WIDTH - 6,
            "bar_height": BAR_HEIGHT, "title": f"{table.title}: {heading}"}


# Inline SVG over time: this period's revenue as bars, the previous period's as a lighter line, on one y axis
# from 0 to a round sum; dates under the plot, at most X_LABELS of them.
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT, X_LABELS = 80, 10, 560, 160, 8


def _round_top(value: Decimal) -> Decimal:
    """The least of 1, 2 or 5 × a power of ten that is at least `value`."""
    power = Decimal(10) ** value.adjusted()
    return next(step * power for step in (1, 2, 5, 10) if value <= step * power)


def _day(when: date, with_year: bool = False) -> str:
    return date_format(when, "j M Y" if with_year else "j M")


def _timeline_chart(table: Table, period: Period) -> dict:
    """One plot per currency sold in (in practice one); none where neither period sold anything."""
    panels = []
    for currency in dict.fromkeys(row["currency"] for row in table.rows):
        rows = [row for row in table.rows if row["currency"] == currency]
        top = max(max(row["revenue"], row["previous_revenue"]) for row in rows)
        if top:
            panels.append(_timeline_panel(rows, currency, _round_top(top), period))
    return {"panels": panels} if panels else {}


def _timeline_panel(rows: list[dict], currency: str, top: Decimal, period: Period) -> dict:
    bottom, step = PLOT_TOP + PLOT_HEIGHT, PLOT_WIDTH / len(rows)

    def x(i: int, offset: float = 0.5) -> float:
        return round(PLOT_LEFT + step * (i + offset), 1)

    def y(amount: Decimal) -> float:
        return round(bottom - PLOT_HEIGHT * float(amount / top), 1)

    highest, previous = max(rows, key=lambda row: row["revenue"]), period.previous
    weekly, this_period = analytics.by_week(period), f"{_day(period.first, True)} to {_day(period.last, True)}"
    peak = (f"highest {format_money(highest['revenue'], currency)} {'in the week of' if weekly else 'on'} "
            f"{_day(highest['start'])}" if highest["revenue"] else "no sales")
    return {
        "title": (f"Revenue in {currency} per {'week' if weekly else 'day'}, {this_period}, as bars ({peak}), "
                  f"against the {period.days} days before ({_day(previous.first, True)} to "
                  f"{_day(previous.last, True)}) as a line. Every figure is in the table below."),
        "width": PLOT_LEFT + PLOT_WIDTH + 10, "height": bottom + 46, "left": PLOT_LEFT, "tick_x": PLOT_LEFT - 6,
        "right": PLOT_LEFT + PLOT_WIDTH, "bottom": bottom, "date_y": bottom + 16, "legend_y": bottom + 38,
        "ticks": [{"y": y(amount), "text_y": y(amount) + 4, "label": format_money(amount, currency)}
                  for amount in (Decimal(0), top / 2, top)],
        "bars": [{"x": x(i, 0.15), "y": y(row["revenue"]), "width": round(step * 0.7, 1),
                  "height": round(bottom - y(row["revenue"]), 1)} for i, row in enumerate(rows) if row["revenue"]],
        "previous_points": " ".join(f"{x(i)},{y(row['previous_revenue'])}" for i, row in enumerate(rows)),
        "dates": [{"x": x(i), "label": _day(row["start"])} for i, row in enumerate(rows)
                  if i % math.ceil(len(rows) / X_LABELS) == 0],
        "legend": (this_period, f"the {period.days} days before"),
    }


def _signed(change: Decimal | None, unit: str = "%") -> str:
    if change is None:
        return "–"
    return f"{'+' if change > 0 else '−' if change < 0 else ''}{abs(change)}{unit}"


def _totals(totals: dict) -> list[dict]:
    """The totals line as shown: each figure now, in the previous period, and the change."""
    def figure(key: str, label: str, compared: dict, shown: Callable = str, unit: str = "%") -> dict:
        return {"key": key, "label": label, "now": shown(compared["now"]), "previous": shown(compared["previous"]),
                "change": _signed(compared["change"], unit)}

    figures = [figure("orders-total", "Orders", totals["orders"])]
    figures += [figure(f"revenue-total-{row['currency'].lower()}", f"Revenue ({row['currency']})", row,
                       lambda amount, currency=row["currency"]: format_money(amount, currency))
                for row in totals["revenue"]]
    if "visits" in totals:
        figures += [figure("visits-total", "Visits", totals["visits"]),
                    figure("conversion-total", "Online conversion", totals["conversion"],
                           lambda rate: "–" if rate is None else f"{rate}%", " pts")]
    return figures


def _csv(table: Table, period: Period) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{table.key.replace("_", "-")}-{period.first:%Y-%m-%d}-to-{period.last:%Y-%m-%d}.csv"')
    writer = csv.writer(response)
    writer.writerow([heading for _, heading in table.columns])
    for cells in table.values:
        writer.writerow(["" if value is None else value for value in cells])
    return response


def analytics_view(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Analytics need the “Can see sales and fulfilment analytics” permission.")
    default = Period.last_days(DEFAULT_DAYS)
    given = "start" in request.GET or "end" in request.GET
    form = PeriodForm(request.GET if given else None, initial={"start": default.first, "end": default.last})
    context = {**admin.site.each_context(request), "title": "Analytics", "form": form}
    if given and not form.is_valid():
        return TemplateResponse(request, "admin/backoffice/analytics.html", context, status=400)
    period = Period(form.cleaned_data["start"], form.cleaned_data["end"]) if given else default
    locations = locations_for_staff(request.user)
    head_office = request.user.has_perm(ALL_LOCATIONS_PERMISSION)
    if request.GET.get("format") == "csv":
        build = _tables(period, locations, head_office=head_office, low_stock_limit=None).get(
            request.GET.get("table", ""))
        if build is None:
            raise Http404("No such table.")
        return _csv(build(), period)
    tables = [build() for build in _tables(period, locations, head_office=head_office,
                                           low_stock_limit=LOW_STOCK_SHOWN).values()]
    for table in tables:
        table.chart = _timeline_chart(table, period) if table.timeline else _chart(table)
    return TemplateResponse(request, "admin/backoffice/analytics.html", {
        **context,
        "period": period,
        "period_query": f"start={period.first:%Y-%m-%d}&end={period.last:%Y-%m-%d}",
        "totals": _totals(analytics.sales_totals(period=period, locations=locations, with_visits=head_office)),
        "tables": tables,
        "click_and_collect": analytics.click_and_collect(period=period, locations=locations),
        "pickups": analytics.pickup_totals(period=period, locations=locations),
        "stores": [] if head_office else list(locations.values_list("code", flat=True)),
    })
