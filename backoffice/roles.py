"""The back office's roles: four groups made by migration 0002_roles, and putting a login in one.

What each role may see is scoped by store through inventory.Location.staff (the stores a user works at);
head-office roles hold inventory.all_locations and see every location.
"""
from django.contrib.auth.models import Group
from django.db import transaction

from inventory.models import Location

MERCHANDISER = "Merchandiser"
STORE_MANAGER = "Store manager"
STORE_STAFF = "Store staff"
PICKUP_STAFF = "Pickup staff"
ROLES = (MERCHANDISER, STORE_MANAGER, STORE_STAFF, PICKUP_STAFF)


@transaction.atomic
def role_assign(*, user, role: str, stores: list[Location] | tuple[Location, ...] = ()):
    """Make `user` a member of staff in exactly this role (any other role removed) working at `stores`
    (added to what they already staff)."""
    if role not in ROLES:
        raise ValueError(f"No role is called {role!r}; the roles are {', '.join(ROLES)}.")
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    for store in stores:
        store.staff.add(user)
    return user
