"""Reading storefront pages in tests the way a shopper reads them: the message next to a field."""
import re
from html import unescape


def page(response) -> str:
    return response.content.decode()


def error_next_to(response, field_id: str) -> str:
    """The error shown right under the input with this id (its aria-describedby target), or ""."""
    html = page(response)
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error" role="alert">(.*?)</p>', html, re.S)
    if match is None:
        return ""
    assert re.search(rf'id="{re.escape(field_id)}"[^>]*aria-describedby="[^"]*{re.escape(field_id)}-error', html) or \
        re.search(rf'aria-describedby="[^"]*{re.escape(field_id)}-error[^"]*"[^>]*id="{re.escape(field_id)}"', html), \
        f"the error is not tied to #{field_id}"
    return unescape(match.group(1)).strip()


def title(response) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", page(response), re.S).group(1)).strip()


def idempotency_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page(response)).group(1)
