"""Browsing: the home page, the catalogue with search and filters, the product page with its variant
picker, where and from when it can be collected ("in stock at stores near you"), and finding and choosing a
store (with its opening hours)."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from catalog.filters import ProductFilter
from catalog.images import product_images_attach
from catalog.models import Category
from catalog.search import Sort, product_sort, sort_chosen, words_of
from catalog.selectors import brands_sold, product_list
from core.redirects import safe_next
from customers import services as customer_services
from customers.attribution import view_record
from customers.models import Interaction
from inventory.hours import DAY_NAMES, opening_hours_week
from inventory.models import Location
from inventory.selectors import product_availability_attach, store_list, stores_near_for_collection

from ..forms import AddToCartForm, NearForm
from ..picker import choice_query, collect_say, offers_for, picker_build, picker_data
from ..selectors import place_find
from ..shopper import (
    REFUSALS,
    SESSION_POINT_KEY,
    SESSION_STORE_KEY,
    add_errors,
    cart_for,
    chosen_store,
    customer_for,
    field_errors,
    web_channel,
)

PAGE_SIZE = 24


def _price_range(product) -> tuple:
    amounts = [v.price_amount for v in product.listed_variants]
    if not amounts:
        return None, None, None
    return min(amounts), max(amounts), product.listed_variants[0].price_currency


def _decorate(products) -> list:
    for product in products:
        product.price_from, product.price_to, product.currency = _price_range(product)
        product.in_stock = any(getattr(v, "available", 0) > 0 for v in product.listed_variants)
    return products


def home(request):
    web = web_channel()
    store = chosen_store(request)
    featured = list(product_sort(product_list(channel=web, sold_only=True), sort=Sort.POPULAR, channel=web)[:8])
    product_images_attach(featured)
    product_availability_attach(products=featured, channel=web, location=store)
    departments = Category.objects.filter(parent__isnull=True).order_by("name")
    return render(request, "storefront/home.html", {
        "featured": _decorate(featured), "departments": departments, "store": store,
    })


def catalog(request):
    web = web_channel()
    store = chosen_store(request)
    q = request.GET.get("q", "")
    sort = sort_chosen(request.GET.get("sort"), q=q)  # one the page does not offer: the default, as the select shows
    sorts = [c for c in Sort.CHOICES if c[0] != Sort.RELEVANCE or words_of(q)]
    filters = ProductFilter(data={"search": q, "category": request.GET.get("category", ""),
                                  "brand": request.GET.get("brand", ""), "sort": sort},
                            queryset=product_list(channel=web, sold_only=True), channel=web)
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    products = product_availability_attach(products=page.object_list, channel=web, location=store)
    product_images_attach(products)
    categories = Category.objects.select_related("parent").order_by("parent__name", "name")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "storefront/catalog.html", {
        "page": page, "products": _decorate(products), "q": q, "sort": sort, "sorts": sorts,
        "category": request.GET.get("category", ""), "brand": request.GET.get("brand", ""),
        "categories": categories, "brands": brands_sold(channel=web), "store": store, "query": query.urlencode(),
    })


def _point(request, near: NearForm, store: Location | None):
    """Where to measure "near you" from: the browser's location, a typed postcode or town, the point
    remembered from earlier, or the chosen store. Returns (latitude, longitude, label, error)."""
    if near.is_valid():
        lat, lng, typed = near.cleaned_data["lat"], near.cleaned_data["lng"], near.cleaned_data["near"].strip()
        if lat is not None and lng is not None:
            request.session[SESSION_POINT_KEY] = [lat, lng, "your location"]
            return lat, lng, "your location", None
        if typed:
            found = place_find(query=typed)
            if found is None:
                return None, None, "", f"We could not find {typed!r}. Try a postcode like M4 3AQ or a town like Leeds."
            request.session[SESSION_POINT_KEY] = [*found, typed]
            return (*found, None)
    elif near.is_bound:
        return None, None, "", "That location could not be read; type a postcode or town instead."
    remembered = request.session.get(SESSION_POINT_KEY)
    if remembered:
        return (*remembered[:3], None)
    if store is not None:
        return store.latitude, store.longitude, store.name, None
    return None, None, "", None


def _near_form(request) -> NearForm:
    """An empty finder, showing the postcode or town typed last (not "your location")."""
    remembered = request.session.get(SESSION_POINT_KEY)
    typed = remembered[3] if remembered and len(remembered) > 3 else ""
    return NearForm(initial={"near": typed})


@require_http_methods(["GET", "POST"])
def product(request, slug: str):
    """The product with its variant picker (storefront.picker); a POST adds the chosen variant to the basket
    (refusals shown next to the field). Without JavaScript, "Show this choice" sends the basket form by GET:
    it comes back here as a plain URL of the choice."""
    web = web_channel()
    item = product_list(channel=web).filter(slug=slug).first()
    if item is None:
        raise Http404("No such product.")
    if "csrfmiddlewaretoken" in request.GET:
        query = choice_query(product=item, query=request.GET)
        return redirect(f"{request.path}?{query}" if query else request.path)
    product_images_attach([item])
    store = chosen_store(request)
    today = timezone.localdate()
    offers = offers_for(product=item, channel=web, store=store, today=today)
    pick = picker_build(offers=offers, query=request.GET)
    form = AddToCartForm.for_choice(sku=pick.chosen.variant.sku if pick.chosen else "", query=request.GET)
    if request.method == "POST":
        posted = picker_build(offers=offers, query=request.POST, fallback=False)
        form = AddToCartForm(request.POST, chosen=posted.chosen.variant if posted.chosen else None,
                             problem=posted.problem)
        added = _add_to_cart(request, form)
        if added is not None:
            messages.success(request, f"Added {form.cleaned_data['quantity']} × {added.name} to your basket.")
            return redirect("storefront:cart")
        if posted.chosen is not None or posted.problem:
            pick = posted
    chosen = pick.chosen.variant if pick.chosen else None
    near = NearForm(data=request.GET if {"near", "lat", "lng"} & set(request.GET) else None)
    lat, lng, where, near_error = _point(request, near, store)
    nearby = []
    if chosen is not None and lat is not None:
        nearby = [(row, collect_say(row.location, row.sellable, row.collect_from, today))
                  for row in stores_near_for_collection(variant=chosen, channel=web, latitude=lat, longitude=lng,
                                                        limit=5)]
    if request.method == "GET":
        view_record(request=request, kind=Interaction.Kind.PRODUCT_VIEWED, reference=f"product:{item.slug}",
                    channel=web)
    return render(request, "storefront/product.html", {
        "product": item, "picker": pick, "offer": pick.chosen, "chosen": chosen, "store": store, "form": form,
        "sku_error": " ".join(form.errors.get("sku", [])) or pick.problem,
        "picker_data": picker_data(picker=pick, offers=offers),
        "near": near if near.is_bound else _near_form(request),
        "near_error": near_error, "where": where, "nearby": nearby, "point_known": lat is not None,
    }, status=400 if form.errors else 200)


def _add_to_cart(request, form: AddToCartForm):
    """The variant the form added to the cart, or None with the reasons on the form (nothing changed)."""
    if not form.is_valid():
        return None
    try:
        customer_services.cart_add_line(cart=cart_for(request, create=True), variant=form.cleaned_data["variant"],
                                        quantity=form.cleaned_data["quantity"], channel=web_channel())
        return form.cleaned_data["variant"]
    except REFUSALS as refusal:
        add_errors(form, field_errors(refusal, fields={"quantity": "quantity", "sku": "sku"}, default="quantity"))
        return None


def stores(request):
    """Find a store: nearest first from the browser's location or a typed postcode or town, each with its
    opening hours (Monday to Sunday, today's marked)."""
    near = NearForm(data=request.GET if {"near", "lat", "lng"} & set(request.GET) else None)
    store = chosen_store(request)
    lat, lng, where, near_error = _point(request, near, None)
    places = list(store_list(latitude=lat, longitude=lng))
    for place in places:
        place.week = opening_hours_week(place)
    return render(request, "storefront/stores.html", {
        "stores": places, "store": store, "today": DAY_NAMES[timezone.localdate().weekday()],
        "near": near if near.is_bound else _near_form(request),
        "near_error": near_error,
        "where": where, "next": request.GET.get("next", ""),
    })


@require_POST
def store_choose(request):
    """Remember the shopper's store (and on their account); stock and pickup use it from now on."""
    store = Location.objects.active().stores().filter(code=request.POST.get("store", "")).first()
    if store is None:
        messages.error(request, "Choose one of the stores in the list.")
        return redirect(safe_next(request, reverse("storefront:stores")))
    request.session[SESSION_STORE_KEY] = store.code
    customer = customer_for(request)
    if customer is not None:
        customer_services.customer_update(customer=customer, channel=web_channel(), preferred_store=store)
    messages.success(request, f"Your store is now {store.name}.")
    return redirect(safe_next(request, reverse("storefront:stores")))
