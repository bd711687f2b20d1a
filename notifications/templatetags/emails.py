"""Template helpers for emails, which are read away from the site: every link and picture needs its full
address."""
from django import template

register = template.Library()


@register.filter
def absolute(url: str, site_url: str) -> str:
    """`url` as a full address: a path ("/media/…") on this site gets `site_url` in front; a URL that has
    its own host (a picture in an S3-compatible store) is kept; no URL stays "" (so no picture is shown)."""
    if not url or url.startswith(("http://", "https://", "//")):
        return url or ""
    return f"{site_url.rstrip('/')}/{url.lstrip('/')}"
