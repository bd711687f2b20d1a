"""The demo's back-office logins: admin (superuser) and one per role, password = username; the store
roles work at one London pickup store. Put back as the demo expects each time it runs."""
from django.contrib.auth import get_user_model

from backoffice.roles import MERCHANDISER, PICKUP_STAFF, STORE_MANAGER, STORE_STAFF, role_assign
from inventory.models import Location

from .places import EMAIL_DOMAIN

# (username, role, works at the demo store)
ROLE_LOGINS = (
    ("staff", STORE_STAFF, True),
    ("manager", STORE_MANAGER, True),
    ("merch", MERCHANDISER, False),
    ("pickup", PICKUP_STAFF, True),
)


def demo_store() -> Location:
    """The store the store roles work at: a London pickup store that also ships, if there is one."""
    pickup_stores = Location.objects.active().stores().filter(offers_pickup=True).order_by("-ships_orders", "code")
    return pickup_stores.filter(city="London").first() or pickup_stores.first()


def demo_user(username: str, *, superuser: bool = False):
    """Create the login or put it back as the demo expects: active, staff, password = username."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.email = f"{username}@{EMAIL_DOMAIN}"
    user.is_active = True
    user.is_staff = True
    user.is_superuser = superuser
    user.set_password(username)
    user.save()
    return user


def demo_logins_create(*, store: Location) -> None:
    demo_user("admin", superuser=True)
    for username, role, at_store in ROLE_LOGINS:
        role_assign(user=demo_user(username), role=role, stores=[store] if at_store else [])
