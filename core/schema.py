"""The API's OpenAPI schema: each operation described in its own words, and every error it can answer listed
with the one error shape core.exceptions.api_exception_handler and core.errors give ({"code", "message", "detail"}).

ApiAutoSchema (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) reads the errors that follow from what a view declares:
authentication, permissions, throttles, the X-Channel header, path parameters and pagination. A view adds the
refusals only it knows (its domain errors, a store looked up by code) with `extend_schema(responses=refusals(...))`.
"""
import inspect
import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from .exceptions import DomainError


class ApiError(serializers.Serializer):
    """Every error the API answers has this shape, whatever its status."""

    code = serializers.CharField(help_text="What went wrong, for a program: e.g. `invalid`, `not_found`, "
                                           "`not_authenticated`, `throttled`, `insufficient_stock`.")
    message = serializers.CharField(help_text="What went wrong, in a sentence to show a person.")
    detail = serializers.DictField(help_text="More about it. A refused body or parameter: `fields` names each "
                                             "field (or header) with its problems. A refused rule: what it "
                                             "refused, e.g. `field`, `lines`, `reason`. Otherwise empty.")


BAD_REQUEST = ("The request is not valid (`invalid`, `parse_error`): `detail.fields` names each field, parameter "
               "or header at fault; or the address carries a control character (`bad_request`).")
NOT_SIGNED_IN = ("Not signed in (`not_authenticated`): send `Authorization: Token <token>` (or a session cookie), "
                 "or the token sent is not valid (`authentication_failed`).")
BAD_TOKEN = ("The Authorization token sent is not valid (`authentication_failed`); send a valid one, or none "
             "to call this as a guest.")
THROTTLED = "Too many attempts (`throttled`): wait the seconds the Retry-After header gives, then try again."
NOT_FOUND = "Nothing with that {names} (`not_found`), or nothing this caller may see."
NO_PAGE = "That page does not exist (`not_found`): `page` is past the last page."
TILL_CHANNEL = "the `till` channel (X-Channel) is for signed-in store staff"
CSRF = "a browser session sent no CSRF token"

# Views that resolve the request's sales channel from the X-Channel header (catalog.channels.ChannelMixin).
CHANNEL_HEADER = "X-Channel"

FALLBACK_DESCRIPTION = "Not described yet:"


def refusals(*errors: type[DomainError] | tuple[type[DomainError] | int, str]) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses={..., **refusals(...)})`, grouped by HTTP status: a domain error
    class (its code is listed), a (domain error class, reason) pair, or (status, reason) for a refusal that is
    not a domain error. The AutoSchema puts the reasons it knows for that status in front."""
    codes: dict[int, list[str]] = {}
    reasons: dict[int, list[str]] = {}
    for error in errors:
        if isinstance(error, tuple):
            cause, reason = error
            status = cause if isinstance(cause, int) else cause.http_status
            reasons.setdefault(status, []).append(
                reason if isinstance(cause, int) else f"{reason.rstrip('.')} (`{cause.code}`).")
        elif f"`{error.code}`" not in codes.setdefault(error.http_status, []):
            codes[error.http_status].append(f"`{error.code}`")
    described = {}
    for status in sorted({*codes, *reasons}):
        parts = list(reasons.get(status, []))
        if codes.get(status):
            parts.append(f"Refused by a rule ({', '.join(codes[status])}): `message` says why, `detail` what.")
        described[status] = OpenApiResponse(ApiError, description=" ".join(parts))
    return described


class ApiAutoSchema(AutoSchema):
    def get_description(self) -> str:
        """The handler's own docstring, else the view class's own: never one inherited from a mixin or a base
        view (its words are about that class, not this operation). Without either, the operation's summary."""
        view_class = type(self.view)
        handler = view_class.__dict__.get(getattr(self.view, "action", None) or self.method.lower())
        own = (handler.__doc__ if handler is not None else None) or view_class.__dict__.get("__doc__")
        if own:
            return "\n".join(line.rstrip() for line in inspect.cleandoc(own).splitlines())
        return self.get_summary() or f"{FALLBACK_DESCRIPTION} {self.method} {self.path}."

    def _get_parameters(self):
        self.parameters = super()._get_parameters()  # read again by takes_channel()
        return self.parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error_ref = self.resolve_serializer(ApiError, "response").ref
        for status, reason in self.error_reasons().items():
            code = str(status)
            declared = responses.get(code)
            if declared is None:
                responses[code] = self._get_response_for_code(OpenApiResponse(ApiError, description=reason), code)
            elif any(media.get("schema") == error_ref for media in declared.get("content", {}).values()):
                declared["description"] = f"{reason} {declared['description']}".strip()
        return dict(sorted(responses.items()))

    # What the view declares ------------------------------------------------------------------------------

    def error_reasons(self) -> dict[int, str]:
        view = self.view
        reasons = {400: BAD_REQUEST}
        if view.authentication_classes:
            reasons[401] = NOT_SIGNED_IN if self.needs_sign_in() else BAD_TOKEN
        forbidden = [getattr(permission, "message", None) or "this login may not do it"
                     for permission in self.permissions() if not issubclass(permission, (AllowAny, IsAuthenticated))]
        if self.takes_channel():
            forbidden.append(TILL_CHANNEL)
        if self.method not in SAFE_METHODS and any(issubclass(a, SessionAuthentication)
                                                   for a in view.authentication_classes):
            forbidden.append(CSRF)
        if forbidden:
            reasons[403] = "Not allowed (`permission_denied`): " + "; or ".join(
                reason[0].lower() + reason[1:].rstrip(".") for reason in forbidden) + "."
        names = re.findall(r"{(\w+)}", self.path)
        missing = [NOT_FOUND.format(names=" or ".join(names))] if names else []
        if self.paginated():
            missing.append(NO_PAGE)
        if missing:
            reasons[404] = " ".join(missing)
        if getattr(view, "throttle_classes", None):
            reasons[429] = THROTTLED
        return reasons

    def permissions(self) -> list[type]:
        return list(getattr(self.view, "permission_classes", []) or [])

    def needs_sign_in(self) -> bool:
        return any(not issubclass(permission, AllowAny) for permission in self.permissions())

    def takes_channel(self) -> bool:
        parameters = getattr(self, "parameters", None)
        if parameters is None:
            parameters = self._get_parameters()
        return any(param.get("in") == "header" and param.get("name") == CHANNEL_HEADER for param in parameters)

    def paginated(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

