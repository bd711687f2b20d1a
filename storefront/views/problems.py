"""The shopper's choice when a pickup store could not find an item: collect it at another store that has it,
have it delivered free, or drop it with a refund. Reached through the signed link in the message, no account."""
from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from fulfillment.models import LineProblem
from fulfillment.problems import choices_for, line_problem_choose, problem_from_token
from orders.selectors import order_link
from orders.services import ShipTo

from ..forms import POSTCODE
from ..selectors import place_find


class ChoiceForm(forms.Form):
    choice = forms.ChoiceField(widget=forms.RadioSelect, error_messages={"required": "Choose one of the options."})
    name = forms.CharField(label="Full name", max_length=160, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    line2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=16, required=False, validators=[POSTCODE])

    REQUIRED = {"name": "Enter the name of the person receiving the parcel.",
                "line1": "Enter the first line of the address.", "city": "Enter the town or city.",
                "postcode": "Enter the postcode."}

    def __init__(self, *args, stores=(), deliverable=False, **kwargs):
        super().__init__(*args, **kwargs)
        options = [(f"collect:{s.location.code}", f"Collect from {s.location.name}") for s in stores]
        if deliverable:
            options.append(("deliver", "Have it delivered, free"))
        options.append(("drop", "Drop it and get my money back"))
        self.fields["choice"].choices = options

    def clean(self):
        data = super().clean()
        if data.get("choice") == "deliver":
            for name, message in self.REQUIRED.items():
                if not (data.get(name) or "").strip() and name not in self.errors:
                    self.add_error(name, message)
        if data.get("postcode"):
            data["postcode"] = " ".join(data["postcode"].upper().split())
        return data


@require_http_methods(["GET", "POST"])
def line_problem_page(request, token: str):
    problem = problem_from_token(token)
    if problem is None:
        return render(request, "404.html", {"message": "This link is not right: use the link in the message we "
                                                       "sent you, or see your order page."}, status=404)
    order = problem.fulfillment.order
    waiting = problem.outcome == LineProblem.Outcome.AWAITING_CHOICE
    stores, deliverable = choices_for(problem=problem) if waiting else ([], False)
    form = ChoiceForm(request.POST if request.method == "POST" and waiting else None, stores=stores,
                      deliverable=deliverable, initial={"name": order.ship_to_name})
    status = 200
    if request.method == "POST" and waiting:
        if form.is_valid():
            data = form.cleaned_data
            picked, _, code = data["choice"].partition(":")
            store = next((s.location for s in stores if s.location.code == code), None)
            address = None
            if picked == "deliver":
                place = place_find(query=data["postcode"])
                address = ShipTo(name=data["name"], line1=data["line1"], line2=data["line2"], city=data["city"],
                                  postcode=data["postcode"], latitude=place[0] if place else None,
                                  longitude=place[1] if place else None)
            try:
                problem = line_problem_choose(problem=problem, choice=picked, store=store, address=address)
            except DomainError as refusal:
                field = refusal.detail.get("field")
                form.add_error(field if field in form.fields else None, refusal.message)
        if form.errors:
            status = 422
    return render(request, "storefront/line_problem.html", {
        "problem": problem, "order": order, "line": problem.order_line, "form": form, "stores": stores,
        "waiting": problem.outcome == LineProblem.Outcome.AWAITING_CHOICE, "order_link": order_link(order),
    }, status=status)
