"""Customer API: sign-up and sign-in (browser session or app token; customers by email, staff by username or
email), password reset, my profile, consent, addresses and timeline, and the one cart, the same whichever
channel asks. Phones come in any spelling and are kept and returned in E.164.

Guests name their cart with the X-Cart-Token header (a browser session remembers it too);
signed-in shoppers always get their own open cart, and a guest cart is merged into it at sign-in.
Anything that is not yours is answered 404, as if it did not exist.
"""
from datetime import timezone as dt_timezone

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.channels import CHANNEL_PARAM, ChannelMixin
from catalog.models import Channel
from catalog.selectors import variant_by_sku
from core.phones import PhoneSerializerField
from core.schema import refusals
from inventory.models import Location

from . import services
from .attribution import visitor_of
from .exceptions import EmailTaken, NotEnoughForCart, NotSoldHere
from .identity import (
    CART_TOKEN_HEADER,
    CART_TOKEN_PARAM,
    current_cart,
    customer_of,
    forget_guest_cart,
    guest_cart,
    remember_guest_cart,
)
from .models import Address, Cart, Customer, Interaction
from .selectors import cart_view, interaction_list
from .throttles import AuthThrottled

# A staff login signed in where a customer's cart or account is meant (customers.identity.customer_of).
NO_CUSTOMER = (403, "This login has no customer account (a member of staff's): sign in as a customer.")

# Serializers ----------------------------------------------------------------------------------


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class CartLineOut(serializers.Serializer):
    id = serializers.IntegerField(source="line.id")
    sku = serializers.CharField(source="line.variant.sku")
    name = serializers.CharField(source="line.variant.name")
    options = serializers.JSONField(source="line.variant.options")
    quantity = serializers.IntegerField(source="line.quantity")
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField(allow_null=True)
    available = serializers.IntegerField(help_text="Units that can be supplied where this cart will be fulfilled.")
    in_stock = serializers.BooleanField()


class CartOut(serializers.Serializer):
    token = serializers.UUIDField(source="cart.token", allow_null=True, default=None)
    channel = serializers.CharField(source="channel.code")
    fulfilment = serializers.SerializerMethodField()
    lines = CartLineOut(many=True)
    item_count = serializers.IntegerField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(allow_null=True)

    def get_fulfilment(self, view) -> dict | None:
        cart = view.cart
        if cart is None or not cart.fulfilment:
            return None
        if cart.fulfilment == Cart.Fulfilment.PICKUP:
            return {"method": "pickup", "store": cart.pickup_store.code, "store_name": cart.pickup_store.name}
        return {"method": "delivery", "address_id": cart.delivery_address_id}


class MergeNoteOut(serializers.Serializer):
    sku = serializers.CharField()
    wanted = serializers.IntegerField()
    kept = serializers.IntegerField()
    message = serializers.CharField()


class AddLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY, default=1)


class QuantityIn(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_LINE_QUANTITY)


class FulfilmentIn(serializers.Serializer):
    method = serializers.ChoiceField(choices=Cart.Fulfilment.choices)
    store = serializers.CharField(required=False, max_length=32, help_text="Store code, for pickup.")
    address_id = serializers.IntegerField(required=False, help_text="One of my addresses, for delivery.")

    def validate(self, data):
        if data["method"] == Cart.Fulfilment.PICKUP and not data.get("store"):
            raise ValidationError({"store": ["Choose the store to collect from."]})
        return data


class ProfileSerializer(serializers.ModelSerializer):
    phone = PhoneSerializerField(required=False, allow_blank=True)
    preferred_store = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.active().stores(), allow_null=True, required=False
    )

    class Meta:
        model = Customer
        fields = ["id", "email", "first_name", "last_name", "phone", "preferred_store", "created_at"]
        read_only_fields = ["id", "email", "created_at"]


class RegisterIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")
    phone = PhoneSerializerField(required=False, allow_blank=True, default="")


class SignInIn(serializers.Serializer):
    """Who is signing in, by one of `email` (a customer, or a member of staff by the email on their login) or
    `username` (a member of staff: a till or counter app), and the password."""

    email = serializers.EmailField(required=False, max_length=254,
                                   help_text="The login's email, in any case. Or give username.")
    username = serializers.CharField(required=False, max_length=150,
                                     help_text="A staff login's username, exactly (e.g. pickup). Or give email.")
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})

    def validate(self, data):
        if "email" in data and "username" in data:
            raise ValidationError({"username": ["Give a username or an email, not both."]})
        if "email" not in data and "username" not in data:
            raise ValidationError({"email": ["Give your email, or the username of a staff login."]})
        return data


class SignedInOut(serializers.Serializer):
    token = serializers.CharField(allow_null=True)
    customer = ProfileSerializer(allow_null=True)
    cart = CartOut(allow_null=True)
    merged = MergeNoteOut(many=True)


class ResetIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ResetConfirmIn(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class ConsentIn(serializers.Serializer):
    email = serializers.BooleanField(required=False, help_text="true gives consent to marketing email; false takes "
                                                              "it back. Leave out to keep it as it is.")
    sms = serializers.BooleanField(required=False, help_text="The same, for marketing text messages.")
    messenger = serializers.BooleanField(required=False, help_text="The same, for messenger apps.")


class ConsentStateOut(serializers.Serializer):
    given = serializers.BooleanField(help_text="Whether marketing may be sent on this channel.")
    at = serializers.DateTimeField(allow_null=True, default_timezone=dt_timezone.utc,
                                   help_text="When consent was given; null when it is not.")


class ConsentOut(serializers.Serializer):
    email = ConsentStateOut(source="*")
    sms = ConsentStateOut(source="*")
    messenger = ConsentStateOut(source="*")

    def to_representation(self, customer):
        state = ConsentStateOut()
        return {name: state.to_representation({"given": customer.consents_to(name),
                                                "at": getattr(customer, f"{name}_consent_at")})
                for name in ("email", "sms", "messenger")}


class MessageOut(serializers.Serializer):
    message = serializers.CharField()


class AddressSerializer(serializers.ModelSerializer):
    phone = PhoneSerializerField(required=False, allow_blank=True)

    class Meta:
        model = Address
        fields = ["id", "label", "recipient", "line1", "line2", "city", "postcode", "country", "phone",
                  "latitude", "longitude", "is_default"]


class InteractionOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(source="get_kind_display")
    channel = serializers.CharField(source="channel.code", allow_null=True, default=None)
    reference = serializers.CharField()
    detail = serializers.JSONField()
    created_at = serializers.DateTimeField()


# Views ----------------------------------------------------------------------------------------


# One CartOut for every answer: a serializer's fields are deep-copied each time one is made, which cost a cart
# change more CPU than turning the cart into JSON (to_representation keeps no state on the serializer).
CART_OUT = CartOut()


def cart_response(cart, channel, code=status.HTTP_200_OK, view=None) -> Response:
    response = Response(CART_OUT.to_representation(view or cart_view(cart=cart, channel=channel)), status=code)
    if cart is not None and cart.customer_id is None:
        response[CART_TOKEN_HEADER] = str(cart.token)
    return response


@extend_schema(tags=["cart"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class CartAPI(ChannelMixin, APIView):
    @extend_schema(responses={200: CartOut, **refusals(NO_CUSTOMER)})
    def get(self, request):
        """My open cart, the same whichever channel asks: each line with its price on the request's channel
        and the units that can be supplied where the cart will be fulfilled, the pickup store or delivery chosen,
        and the subtotal. Anyone may call it: a guest names the cart with X-Cart-Token (without one, or with a
        token that names no open cart, the answer is an empty cart with `token` null); a signed-in customer
        always gets their own cart."""
        return cart_response(current_cart(request, self.channel), self.channel)


@extend_schema(tags=["cart"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class CartLinesAPI(ChannelMixin, APIView):
    @extend_schema(request=AddLineIn, responses={201: CartOut, **refusals(
        NotEnoughForCart, NotSoldHere, NO_CUSTOMER)})
    def post(self, request):
        """Put a product in my cart by SKU; a line already there grows by the quantity. Anyone may call it. A
        guest with no cart gets a new one: keep the `token` of the answer (also in the X-Cart-Token response
        header) and send it with every cart request. Refused when the channel does not sell the SKU (422) or
        there are not that many to supply where the cart will be fulfilled (409)."""
        data = AddLineIn(data=request.data)
        data.is_valid(raise_exception=True)
        variant = variant_by_sku(data.validated_data["sku"])
        if variant is None:
            raise ValidationError({"sku": [f"No product has SKU {data.validated_data['sku']!r}."]})
        cart = current_cart(request, self.channel)  # None for a guest's first add: the add opens the cart
        view = services.cart_add_line(cart=cart, variant=variant, quantity=data.validated_data["quantity"],
                                      channel=self.channel)
        if cart is None:
            remember_guest_cart(request, view.cart)
        return cart_response(view.cart, self.channel, status.HTTP_201_CREATED, view=view)


@extend_schema(tags=["cart"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class CartLineAPI(ChannelMixin, APIView):
    def _line(self, request, pk):
        cart = current_cart(request, self.channel)
        if cart is None:
            raise NotFound("No such line in your cart.")
        return cart, get_object_or_404(cart.lines.select_related("variant__product"), pk=pk)

    @extend_schema(request=QuantityIn, responses={200: CartOut, **refusals(NotEnoughForCart, NotSoldHere, NO_CUSTOMER)})
    def patch(self, request, pk: int):
        """Set how many of a line (by its id in my cart) I want. Anyone may call it for their own cart; a line
        of another cart is 404. More than can be supplied is refused (409)."""
        cart, line = self._line(request, pk)
        data = QuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_set_quantity(cart=cart, line=line, quantity=data.validated_data["quantity"], channel=self.channel)
        return cart_response(cart, self.channel)

    @extend_schema(responses={200: CartOut, **refusals(NO_CUSTOMER)})
    def delete(self, request, pk: int):
        """Take a line (by its id) out of my cart; the answer is the cart as it is now. Anyone may call it for
        their own cart; a line of another cart is 404."""
        cart, line = self._line(request, pk)
        services.cart_remove_line(cart=cart, line=line, channel=self.channel)
        return cart_response(cart, self.channel)


@extend_schema(tags=["cart"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM])
class CartFulfilmentAPI(ChannelMixin, APIView):
    @extend_schema(request=FulfilmentIn, responses={200: CartOut, **refusals(
        (404, "`address_id` is not one of my addresses (`not_found`)."), NO_CUSTOMER)})
    def put(self, request):
        """Choose how my cart will be fulfilled: pickup at a store (`store`, its code), or delivery (to one of my
        saved addresses by `address_id`, or to an address given at checkout). Availability in the cart then
        counts what that store, or delivery, can supply. Anyone may call it; saved addresses need a signed-in
        customer."""
        data = FulfilmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = current_cart(request, self.channel, create=True)
        if data.validated_data["method"] == Cart.Fulfilment.PICKUP:
            store = Location.objects.active().stores().filter(code=data.validated_data["store"]).first()
            if store is None:
                raise ValidationError({"store": [f"No store has code {data.validated_data['store']!r}."]})
            cart = services.cart_choose_pickup(cart=cart, store=store, channel=self.channel)
        else:
            address = None
            if data.validated_data.get("address_id") is not None:
                if cart.customer_id is None:
                    raise NotFound("No such address.")
                address = get_object_or_404(cart.customer.addresses, pk=data.validated_data["address_id"])
            cart = services.cart_choose_delivery(cart=cart, address=address, channel=self.channel)
        return cart_response(cart, self.channel)


def signed_in(request, user, channel, *, token: bool, code=status.HTTP_200_OK) -> Response:
    guest = guest_cart(request)
    if not token:
        # A session sign-in from another site's form would sign the browser into someone else's account
        # (login CSRF): the page must carry this site's CSRF token, as every form of ours does.
        SessionAuthentication().enforce_csrf(request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    customer = getattr(user, "customer", None)
    cart, notes = (None, [])
    if customer is not None:
        cart, notes = services.customer_sign_in(customer=customer, channel=channel, guest_cart=guest,
                                                visitor=visitor_of(request))
    forget_guest_cart(request)
    payload = {
        "token": Token.objects.get_or_create(user=user)[0].key if token else None,
        "customer": customer,
        "cart": cart_view(cart=cart, channel=channel) if cart else None,
        "merged": notes,
    }
    return Response(SignedInOut(payload).data, status=code)


@extend_schema(tags=["auth"], parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM, OpenApiParameter(
    "session", str, enum=["true", "false"],
    description="`true` signs a browser in with a session cookie (send this site's CSRF token); otherwise the "
                "answer carries an app token.")])
class RegisterAPI(AuthThrottled, ChannelMixin, APIView):
    """Create a customer account and sign in: with `?session=true` a browser is signed in (session cookie);
    otherwise the answer carries an app token for the Authorization header. A guest cart named by X-Cart-Token
    becomes the new account's cart. Anyone may call it; attempts are limited per address and per email (429).
    An email that already has an account is refused (409)."""

    def initial(self, request, *args, **kwargs):
        self.default_channel = Channel.WEB if request.query_params.get("session") == "true" else Channel.MOBILE
        super().initial(request, *args, **kwargs)

    @extend_schema(request=RegisterIn, responses={201: SignedInOut, **refusals(EmailTaken)})
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_register(channel=self.channel, **data.validated_data)
        use_token = request.query_params.get("session") != "true"
        return signed_in(request, customer.user, self.channel, token=use_token, code=status.HTTP_201_CREATED)


def login_authenticate(request, *, password: str, email: str = "", username: str = ""):
    """The active login these credentials open, or None. A username is matched exactly; an email, in any case, to
    the email on the login (a customer's, or a member of staff's). When no login has that email the password is
    still checked against one, so the answer takes as long whether or not the email is known."""
    if username:
        return authenticate(request, username=username, password=password)
    User = get_user_model()
    usernames = list(User.objects.filter(email__iexact=email).order_by("pk")
                     .values_list(User.USERNAME_FIELD, flat=True)) or [email.lower()]
    return next((user for name in usernames if (user := authenticate(request, username=name, password=password))),
                None)


SIGN_IN_EXAMPLES = [
    OpenApiExample("Customer", summary="A customer, by email",
                   value={"email": "ada@example.com", "password": "correct-horse-battery-9"}, request_only=True),
    OpenApiExample("Staff", summary="A member of staff (a till or counter app), by username",
                   value={"username": "pickup", "password": "pickup"}, request_only=True),
]


class SignInAPI(AuthThrottled, ChannelMixin, APIView):
    """Sign an app in: the answer carries a token to send as `Authorization: Token <token>`. Customers sign in
    by email (a guest cart named by X-Cart-Token is merged into theirs; `merged` says what could not be kept);
    staff (a till or counter app) by username or the email on their login, and get `customer: null`. Anyone
    may call it; attempts are limited per address and per account (429)."""

    use_token = True
    default_channel = Channel.MOBILE

    @extend_schema(tags=["auth"], request=SignInIn, examples=SIGN_IN_EXAMPLES,
                   parameters=[CART_TOKEN_PARAM, CHANNEL_PARAM],
                   responses={200: SignedInOut, **refusals(
                       (401, "That email (or username) and password do not match an active login."))})
    def post(self, request):
        data = SignInIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        user = login_authenticate(request, password=given["password"], email=given.get("email", ""),
                                  username=given.get("username", ""))
        if user is None:
            said = "username" if "username" in given else "email"
            raise AuthenticationFailed(f"That {said} and password do not match an account.")
        return signed_in(request, user, self.channel, token=self.use_token)


class SessionSignInAPI(SignInAPI):
    """Sign a browser in with a session cookie (the web storefront): customers by email, staff by username or
    email, exactly as the app token sign-in. The request must carry this site's CSRF token (the X-CSRFToken
    header with the csrftoken cookie), as the storefront's own pages do; without it, 403. Anyone may call it;
    attempts are limited per address and per account (429)."""

    use_token = False
    default_channel = Channel.WEB


class SignOutAPI(APIView):
    """Sign out: every app token of this login stops working and a browser session ends. For any signed-in
    login, customer or staff."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=None, responses={204: None})
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetAPI(AuthThrottled, APIView):
    """Email a link (and a uid and token) to set a new password. The answer is the same whether or not the
    email has an account, so it tells nobody which emails do. Anyone may call it; attempts are limited per
    address and per email (429)."""

    @extend_schema(tags=["auth"], request=ResetIn, responses={202: MessageOut})
    def post(self, request):
        data = ResetIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"message": services.RESET_ASKED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmAPI(AuthThrottled, APIView):
    """Set a new password with the uid and token from the reset email; every app token and browser session of
    that login then stops working, so apps sign in again. Anyone holding the emailed token may call it; a wrong
    or expired token, or a password too weak, is refused (400). Attempts are limited per address (429)."""

    @extend_schema(tags=["auth"], request=ResetConfirmIn, responses={200: MessageOut})
    def post(self, request):
        data = ResetConfirmIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response({"message": "Password changed; sign in with the new one."})


@extend_schema(tags=["me"], parameters=[CHANNEL_PARAM])
class MeAPI(ChannelMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ProfileSerializer, **refusals(NO_CUSTOMER)})
    def get(self, request):
        """My profile: email, name, phone (E.164) and preferred store. For a signed-in customer."""
        return Response(ProfileSerializer(customer_of(request)).data)

    @extend_schema(request=ProfileSerializer, responses={200: ProfileSerializer, **refusals(NO_CUSTOMER)})
    def patch(self, request):
        """Change my name, phone (any spelling; kept in E.164) or preferred store (a store code, or null); the
        email cannot change here. For a signed-in customer."""
        customer = customer_of(request)
        data = ProfileSerializer(customer, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(customer=customer, channel=self.channel, **data.validated_data)
        return Response(ProfileSerializer(customer).data)


@extend_schema(tags=["me"], parameters=[CHANNEL_PARAM])
class ConsentAPI(ChannelMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ConsentOut, **refusals(NO_CUSTOMER)})
    def get(self, request):
        """Which marketing I agreed to, per channel (email, SMS, messenger), and since when. Service messages
        about my orders are sent whatever this says. For a signed-in customer."""
        return Response(ConsentOut(customer_of(request)).data)

    @extend_schema(request=ConsentIn, responses={200: ConsentOut, **refusals(NO_CUSTOMER)})
    def put(self, request):
        """Give or take back marketing consent: send only the channels to change, each true or false. The answer
        is my consent as it now stands, with when each was given. For a signed-in customer."""
        data = ConsentIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_set_consent(customer=customer_of(request), channel=self.channel,
                                                 **data.validated_data)
        return Response(ConsentOut(customer).data)


@extend_schema(tags=["me"])
@extend_schema_view(
    get=extend_schema(responses={200: AddressSerializer(many=True), **refusals(NO_CUSTOMER)},
                      description="My saved delivery addresses. For a signed-in customer."),
    post=extend_schema(responses={201: AddressSerializer, **refusals(NO_CUSTOMER)},
                       description="Save a delivery address; `is_default` makes it the one delivery uses when "
                                   "none is chosen. For a signed-in customer."),
)
class AddressListAPI(generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = AddressSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Address.objects.none()
        return customer_of(self.request).addresses.all()

    def perform_create(self, serializer):
        serializer.instance = services.address_save(customer=customer_of(self.request), **serializer.validated_data)


@extend_schema(tags=["me"])
@extend_schema_view(
    get=extend_schema(responses={200: AddressSerializer, **refusals(NO_CUSTOMER)},
                      description="One of my saved addresses, by id. For a signed-in customer; another's is 404."),
    patch=extend_schema(responses={200: AddressSerializer, **refusals(NO_CUSTOMER)},
                        description="Change one of my saved addresses (only the fields sent). For a signed-in "
                                    "customer; another's is 404."),
    delete=extend_schema(responses={204: None, **refusals(NO_CUSTOMER)},
                         description="Delete one of my saved addresses; orders already placed keep the address "
                                     "they were sent to. For a signed-in customer; another's is 404."),
)
class AddressAPI(generics.RetrieveUpdateDestroyAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = AddressSerializer
    http_method_names = ["get", "patch", "delete"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Address.objects.none()
        return customer_of(self.request).addresses.all()

    def perform_update(self, serializer):
        serializer.instance = services.address_save(
            customer=customer_of(self.request), address=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.address_delete(address=instance)


@extend_schema(tags=["me"], responses={200: InteractionOut(many=True), **refusals(NO_CUSTOMER)})
class TimelineAPI(generics.ListAPIView):
    """My story with the shop, newest first, whatever the channel: sign-ups and sign-ins, cart changes, orders,
    pickups, returns and messages, each with its channel and a reference. For a signed-in customer."""

    permission_classes = [IsAuthenticated]
    serializer_class = InteractionOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Interaction.objects.none()
        return interaction_list(customer=customer_of(self.request))
