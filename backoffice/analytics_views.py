"""The analytics page at /admin/analytics/: a period picker, server-drawn SVG bar charts with their tables,
and each table as CSV (?format=csv&table=...). Needs backoffice.view_analytics; store staff see their stores."""
import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse

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
    """One table of the page: its columns (key, heading) and rows, and the bar chart drawn from it."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    bar_label: str = ""
    bar_value: str = ""
    note: str = ""
    chart: dict = field(default_factory=dict)

    @property
    def cells(self) -> list[list]:
        return [[row[key] for key, _ in self.columns] for row in self.rows]


def _tables(period: Period, locations, *, low_stock_limit: int | None) -> dict[str, Callable[[], Table]]:
    """Each table by key, built only when called: the CSV of one table runs that table's queries alone."""
    money = [("currency", "Currency")]
    scope = {"period": period, "locations": locations}
    return {
        "sales_by_channel": lambda: Table(
            "sales_by_channel", "Sales by channel",
            [("channel", "Channel"), ("orders", "Orders"), ("revenue", "Revenue"), *money],
            analytics.sales_by_channel(**scope), "channel", "revenue",
            "Orders placed in the period; revenue after vouchers, less cancelled units."),
        "sales_by_store": lambda: Table(
            "sales_by_store", "Sales by store",
            [("store", "Store"), ("name", "Name"), ("orders", "Orders"), ("revenue", "Revenue"), *money],
            analytics.sales_by_store(**scope), "store", "revenue",
            "By the location each line is sent from, handed over at or sold at."),
        "pickups_by_store": lambda: Table(
            "pickups_by_store", "Pickups by store",
            [("store", "Store"), ("name", "Name"), ("pickups", "Pickup orders"),
             ("hours_to_ready", "Avg hours order → ready"), ("hours_to_collect", "Avg hours ready → collected"),
             ("collected", "Collected"), ("expired", "Not collected"), ("uncollected_rate", "Uncollected %")],
            analytics.pickups_by_store(**scope), "store", "uncollected_rate",
            "Pickup orders placed in the period. Uncollected % = not collected in time ÷ (collected + not "
            "collected)."),
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
        {"label": row[table.bar_label], "value": row[table.bar_value] if row[table.bar_value] is not None else "–",
         "y": i * ROW_HEIGHT, "text_y": i * ROW_HEIGHT + BAR_HEIGHT - 3,
         "width": round(BAR_WIDTH * float(value) / float(top), 1),
         "value_x": round(LABEL_WIDTH + 6 + BAR_WIDTH * float(value) / float(top), 1)}
        for i, (row, value) in enumerate(zip(table.rows, values, strict=True))
    ]
    heading = dict(table.columns)[table.bar_value]
    return {"bars": bars, "height": len(bars) * ROW_HEIGHT, "width": LABEL_WIDTH + BAR_WIDTH + 90,
            "label_width": LABEL_WIDTH, "label_x": LABEL_WIDTH - 6,
            "bar_height": BAR_HEIGHT, "title": f"{table.title}: {heading}"}


def _csv(table: Table, period: Period) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{table.key.replace("_", "-")}-{period.first:%Y-%m-%d}-to-{period.last:%Y-%m-%d}.csv"')
    writer = csv.writer(response)
    writer.writerow([heading for _, heading in table.columns])
    for cells in table.cells:
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
    if request.GET.get("format") == "csv":
        build = _tables(period, locations, low_stock_limit=None).get(request.GET.get("table", ""))
        if build is None:
            raise Http404("No such table.")
        return _csv(build(), period)
    tables = [build() for build in _tables(period, locations, low_stock_limit=LOW_STOCK_SHOWN).values()]
    for table in tables:
        table.chart = _chart(table)
    head_office = request.user.has_perm(ALL_LOCATIONS_PERMISSION)
    return TemplateResponse(request, "admin/backoffice/analytics.html", {
        **context,
        "period": period,
        "period_query": f"start={period.first:%Y-%m-%d}&end={period.last:%Y-%m-%d}",
        "tables": tables,
        "click_and_collect": analytics.click_and_collect(period=period, locations=locations),
        "pickups": analytics.pickup_totals(period=period, locations=locations),
        "stores": [] if head_office else list(locations.values_list("code", flat=True)),
    })
