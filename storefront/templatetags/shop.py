"""Template helpers for the storefront: form widgets tied to their messages, lookups, and the money and
percent filters and miles of core (so `{% load shop %}` is all a storefront page needs)."""
from django import template

from core.templatetags.money import miles, money, percent

register = template.Library()
register.filter("money", money)
register.filter("percent", percent)
register.filter("miles", miles)


@register.simple_tag
def widget(field, **attrs):
    """The field's input, tied to its help text and error message for screen readers."""
    described = [f"{field.auto_id}-help"] if field.help_text else []
    if field.errors:
        described.append(f"{field.auto_id}-error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs={k.replace("_", "-"): v for k, v in attrs.items()})


@register.filter
def get(mapping, key):
    """mapping[key] in a template, or None."""
    return mapping.get(key) if hasattr(mapping, "get") else None
