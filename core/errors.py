"""The project's error pages: the API answers in its JSON error shape ({"code", "message", "detail"}, never a
trace), every other page in the shop's own templates. Wired as Django's handler400/403/404/500."""
from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "detail": {}}, status=status)


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception=None):
    if _is_api(request):
        return api_error(400, "bad_request", "The request could not be read: check its address, headers and body.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return api_error(403, "permission_denied", str(exception) if exception else "You may not do that.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return api_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return api_error(500, "server_error", "Something went wrong on our side; nothing was changed. Try again.")
    return defaults.server_error(request)
