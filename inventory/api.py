"""Catalog API: products with their prices on the request's channel and availability (at a chosen
store, with from when it can be collected there, or for delivery), where a variant can be found or collected
(nearest stores first), and the stores.

The channel comes from the X-Channel header or the sign-in (catalog.channels): it sets the price and
whether safety stock is held back (web and mobile keep it for walk-in shoppers; the till, staff only,
sells it). A variant with no price on the channel cannot be bought there, so it is left out: a shopper
never sees a variant they could not put in a cart, and every variant's `price` is filled in. A product
with no variant priced on the channel still lists, with no variants and `price_range` null (hiding it
would cost a scan of every price of the channel per page; see catalog.selectors.product_list).
"""
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.channels import CHANNEL_HEADER, ChannelMixin
from catalog.filters import ProductFilter
from catalog.images import product_images_attach, rendition_height, rendition_url_by_width
from catalog.models import Product, Variant
from catalog.selectors import product_list
from catalog.signals import product_viewed
from core.points import NEAR_PARAM, NearIn

from .models import Location
from .selectors import (
    product_availability_attach,
    product_collection_attach,
    store_list,
    stores_near_for_collection,
    variant_availability,
)

CHANNEL_PARAM = OpenApiParameter(
    CHANNEL_HEADER, str, OpenApiParameter.HEADER, enum=["web", "mobile", "till"],
    description="Sales channel: sets the price and whether safety stock is held back. Default: mobile for an app "
    "token, else web. `till` is for signed-in store staff.",
)
STORE_PARAM = OpenApiParameter(
    "store", str, description="A store code: availability at that store (to collect or buy there) and, per "
    "variant, `collect_from`: the first day it can be collected there. Without it, availability is for delivery "
    "(every location that ships orders) and `collect_from` is null.",
)
QUANTITY_PARAM = OpenApiParameter(
    "quantity", {"type": "integer", "minimum": 1, "maximum": 10_000},
    description="With `near`: the stores that can sell this many now come first; the others listed can have the "
    "rest sent to collect (default 1).",
)
LIMIT_PARAM = OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 50},
                               description="With `near`: at most this many stores (default 10).")


class CatalogPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class NearStockIn(NearIn):
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


def found(queryset, message: str, **lookup):
    """The one row matching `lookup`, or a 404 that says what was not found."""
    row = queryset.filter(**lookup).first()
    if row is None:
        raise NotFound(message)
    return row


def query_params(serializer_class, request) -> dict:
    data = serializer_class(data=request.query_params.dict())  # a plain dict: `?near=` is blank, not absent
    data.is_valid(raise_exception=True)
    return data.validated_data


# Serializers ----------------------------------------------------------------------------------

MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)


class CategoryOut(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class VariantPriceOut(serializers.Serializer):
    amount = serializers.DecimalField(source="price_amount", max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="price_currency")


class VariantOut(serializers.Serializer):
    sku = serializers.CharField()
    barcode = serializers.CharField(allow_null=True)
    options = serializers.JSONField()
    price = VariantPriceOut(source="*", help_text="The price in force on the request's channel.")
    available = serializers.IntegerField(help_text="Units this channel can sell at the chosen store, or for delivery.")
    in_stock = serializers.SerializerMethodField()
    collect_from = serializers.SerializerMethodField(
        help_text="With `store`: the first day one can be collected there: the store's next chance to hand it over "
        "(today, if it is open long enough) when it has it, a later day when a location that ships orders must send "
        "it there first; null when nowhere can, when the store does not offer pickup, or without `store`.",
    )

    def get_in_stock(self, variant) -> bool:
        return variant.available > 0

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_collect_from(self, variant) -> str | None:
        day = getattr(variant, "collect_from", None)
        return None if day is None else day.isoformat()


class ProductImageOut(serializers.Serializer):
    url = serializers.URLField(read_only=True, help_text="The largest rendition (JPEG, at most 1024 pixels wide).")
    thumbnails = serializers.DictField(child=serializers.URLField(), read_only=True,
                                       help_text="Every rendition's URL by its width in pixels.")
    alt = serializers.CharField(source="alt_text", help_text="What the picture shows, for people who cannot see it.")
    colour = serializers.CharField(help_text="The variants' colour it shows (their options' `colour`); empty for any.")
    width = serializers.IntegerField(read_only=True, help_text="Of the largest rendition (`url`), in pixels.")
    height = serializers.IntegerField(read_only=True, help_text="Of the largest rendition (`url`), in pixels.")

    def to_representation(self, image) -> dict:
        """Every rendition's URL worked out once for the four fields that tell of them."""
        request = self.context.get("request")
        urls = {width: request.build_absolute_uri(url) if request is not None else url
                for width, url in rendition_url_by_width(image).items()}
        largest = max(urls)
        return {"url": urls[largest], "thumbnails": {str(width): url for width, url in urls.items()},
                "alt": image.alt_text, "colour": image.colour, "width": largest,
                "height": rendition_height(image, largest)}


class ProductOut(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    brand = serializers.CharField()
    category = CategoryOut()
    description = serializers.CharField()
    variants = VariantOut(source="listed_variants", many=True)
    images = ProductImageOut(source="pictures", many=True, help_text="The product's pictures in order.")
    price_range = serializers.SerializerMethodField(
        help_text="Lowest and highest variant price (“from £…”); null when no variant is sold on the channel."
    )

    @extend_schema_field(inline_serializer("PriceRange", {
        "from": MONEY,
        "to": MONEY,
        "currency": serializers.CharField(),
    }, allow_null=True))
    def get_price_range(self, product) -> dict | None:
        if not product.listed_variants:
            return None
        amounts = sorted(v.price_amount for v in product.listed_variants)
        return {"from": MONEY.to_representation(amounts[0]), "to": MONEY.to_representation(amounts[-1]),
                "currency": product.listed_variants[0].price_currency}


class StoreOut(serializers.ModelSerializer):
    address = serializers.CharField(source="address_line")
    distance_km = serializers.SerializerMethodField(help_text="From the `near` point, to 0.1 km; null without it.")

    class Meta:
        model = Location
        fields = ["code", "name", "address", "city", "postcode", "country", "latitude", "longitude", "phone", "email",
                  "opening_hours", "sells_in_store", "offers_pickup", "ships_orders", "accepts_returns", "distance_km"]

    def get_distance_km(self, store) -> float | None:
        distance = getattr(store, "distance_km", None)
        return None if distance is None else round(distance, 1)


class LocationBriefOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()
    kind = serializers.CharField()


class LocationAvailabilityOut(serializers.Serializer):
    store = LocationBriefOut(source="location")
    available = serializers.IntegerField(source="sellable")


class NearbyStockOut(serializers.Serializer):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    address = serializers.CharField(source="location.address_line")
    city = serializers.CharField(source="location.city")
    postcode = serializers.CharField(source="location.postcode")
    latitude = serializers.FloatField(source="location.latitude")
    longitude = serializers.FloatField(source="location.longitude")
    distance_km = serializers.SerializerMethodField()
    opening_hours = serializers.JSONField(source="location.opening_hours")
    offers_pickup = serializers.BooleanField(source="location.offers_pickup")
    available = serializers.IntegerField(source="sellable", help_text="Units the channel can sell there now.")
    collect_from = serializers.DateField(
        allow_null=True, help_text="The first day `quantity` can be collected there (sent from elsewhere when "
        "`available` is short); null at a store that does not offer pickup (buy it there).",
    )

    def get_distance_km(self, row) -> float:
        return round(row.distance_km, 1)


# Views ----------------------------------------------------------------------------------------


class ChannelFilterBackend(DjangoFilterBackend):
    """Hands the request's channel to the filterset: its price sorts use that channel's prices."""

    def get_filterset_kwargs(self, request, queryset, view):
        return {**super().get_filterset_kwargs(request, queryset, view), "channel": view.channel}


class ProductViews(ChannelMixin):
    serializer_class = ProductOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        return product_list(channel=self.channel)

    def availability_store(self) -> Location | None:
        code = self.request.query_params.get("store")
        if code is None:
            return None
        store = Location.objects.active().stores().filter(code=code).first()
        if store is None:
            raise ValidationError({"store": [f"No open store has code {code!r}."]})
        return store

    def availability_attach(self, products, store: Location | None) -> list[Product]:
        if store is None:
            return product_availability_attach(products=products, channel=self.channel)
        return product_collection_attach(products=products, channel=self.channel, store=store)


@extend_schema(tags=["catalog"], parameters=[STORE_PARAM, CHANNEL_PARAM])
class ProductListAPI(ProductViews, generics.ListAPIView):
    """Active products, with each variant sold on the channel: its price and availability (at `store`, or for
    delivery). Search by words (most relevant first), a category (with its sub-categories) or a brand; `sort` by
    price on the channel, newest, most sold in the last 30 days or name (the default without a search). Anyone may
    call it."""

    filterset_class = ProductFilter
    filter_backends = [ChannelFilterBackend]
    pagination_class = CatalogPagination

    def list(self, request, *args, **kwargs):
        store = self.availability_store()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        products = product_images_attach(self.availability_attach(page, store))
        return self.get_paginated_response(self.get_serializer(products, many=True).data)


@extend_schema(tags=["catalog"], parameters=[STORE_PARAM, CHANNEL_PARAM])
class ProductDetailAPI(ProductViews, generics.RetrieveAPIView):
    """One active product by its slug, as in the list: each variant sold on the channel with its price and
    availability (at `store`, or for delivery). Anyone may call it; viewing it is noted on a signed-in
    customer's timeline."""

    lookup_field = "slug"

    def get_object(self):
        slug = self.kwargs["slug"]
        return found(self.get_queryset(), f"No product has slug {slug!r}.", slug=slug)

    def retrieve(self, request, *args, **kwargs):
        store = self.availability_store()
        product = self.get_object()
        product_images_attach(self.availability_attach([product], store))
        product_viewed.send(sender=type(product), request=request, product=product, channel=self.channel)
        return Response(self.get_serializer(product).data)


@extend_schema(tags=["catalog"])
class VariantAvailabilityAPI(ChannelMixin, APIView):
    """Where a variant can be had. Without `near`: its sellable units at every active location that
    holds it, by code. With `near`, at most `limit` stores: first those that can sell `quantity` now, nearest
    first; then the nearest stores offering pickup that can have the rest sent by a location that ships orders
    (ship-to-store), each with what it holds now (`available`, fewer than `quantity`). Each has `collect_from`,
    the first day `quantity` can be collected there: today or the store's next open day when it holds them, a
    later day when they must be sent; null at a store that holds them but does not offer pickup (buy them
    there). Stores that neither hold them nor can get them are left out. Anyone may call it."""

    @extend_schema(
        parameters=[NEAR_PARAM, QUANTITY_PARAM, LIMIT_PARAM, CHANNEL_PARAM],
        responses=PolymorphicProxySerializer(
            component_name="VariantAvailability", serializers=[LocationAvailabilityOut, NearbyStockOut],
            resource_type_field_name=None, many=True,
        ),
    )
    def get(self, request, sku: str):
        query = query_params(NearStockIn, request)
        variants = Variant.objects.filter(is_active=True, product__is_active=True)
        variant = found(variants, f"No product has SKU {sku!r}.", sku=sku)
        if "near" not in query:
            rows = variant_availability(variant=variant, channel=self.channel)
            return Response(LocationAvailabilityOut(rows, many=True).data)
        latitude, longitude = query["near"]
        rows = stores_near_for_collection(
            variant=variant, channel=self.channel, latitude=latitude, longitude=longitude,
            quantity=query["quantity"], limit=query["limit"],
        )
        return Response(NearbyStockOut(rows, many=True).data)


@extend_schema(tags=["stores"], parameters=[NEAR_PARAM])
class StoreListAPI(generics.ListAPIView):
    """Open stores by code or, with `near`, nearest first with the distance: address, opening hours and what
    each offers (selling in store, pickup, shipping orders, taking returns). Anyone may call it."""

    serializer_class = StoreOut
    pagination_class = CatalogPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Location.objects.none()
        latitude, longitude = query_params(NearIn, self.request).get("near", (None, None))
        return store_list(latitude=latitude, longitude=longitude)


@extend_schema(tags=["stores"])
class StoreDetailAPI(generics.RetrieveAPIView):
    """One open store by its code: address, opening hours and what it offers. Anyone may call it."""

    serializer_class = StoreOut
    lookup_field = "code"
    queryset = Location.objects.active().stores()

    def get_object(self):
        code = self.kwargs["code"]
        return found(self.get_queryset(), f"No open store has code {code!r}.", code=code)
