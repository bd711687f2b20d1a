"""Which channel an API request comes through: explicit in the X-Channel header, else implied by how
the client signed in (a mobile app's token means mobile; a browser session or a guest means web)."""
from drf_spectacular.utils import OpenApiParameter
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError

from .models import Channel
from .selectors import channel_named

CHANNEL_HEADER = "X-Channel"
CHANNEL_PARAM = OpenApiParameter(CHANNEL_HEADER, str, OpenApiParameter.HEADER, enum=[Channel.WEB, Channel.MOBILE, Channel.TILL])


def channel_for_request(request, default: str | None = None) -> Channel:
    """The request's Channel. `default` names the channel of an endpoint only one kind of client uses
    (an app-token sign-in is the app). The till channel is for signed-in store staff only."""
    code = request.headers.get(CHANNEL_HEADER, "").strip().lower() or default
    if not code:
        token_client = isinstance(getattr(request, "successful_authenticator", None), TokenAuthentication)
        code = Channel.MOBILE if token_client else Channel.WEB
    channel = channel_named(code)
    if channel is None:
        known = ", ".join(Channel.objects.values_list("code", flat=True))
        raise ValidationError({CHANNEL_HEADER: [f"Unknown channel {code!r}; use one of: {known}."]})
    if not channel.is_online and not (request.user.is_authenticated and request.user.is_staff):
        raise PermissionDenied(f"The {channel.name} channel is for signed-in store staff.")
    return channel


class ChannelMixin:
    """Gives DRF views `self.channel`, resolved once per request after authentication."""

    default_channel: str | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.channel = channel_for_request(request, self.default_channel)
