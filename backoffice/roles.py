"""The back office's roles: four groups made by migration 0002_roles (and changed by later ones through
permissions_grant), and putting a login in one.

What each role may see is scoped by store through inventory.Location.staff (the stores a user works at);
head-office roles hold inventory.all_locations and see every location.
"""
from django.contrib.auth.management import create_permissions
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


def permissions_grant(apps, *, grants: dict[str, list[tuple[str, str]]], replace: bool = False) -> None:
    """For data migrations: give each role group its (app label, codename) permissions, or exactly those
    with `replace`. Permissions are created first: post_migrate would make them only after every migration
    has run, so a fresh database would otherwise have none to give."""
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module, and create_permissions skips those; put back what
        # was there, so the live registry (tests re-run these migrations) keeps its own.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = original
    permission = apps.get_model("auth", "Permission")
    for role, permissions in grants.items():
        wanted = [permission.objects.get(content_type__app_label=app, codename=codename)
                  for app, codename in permissions]
        group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=role)
        if replace:
            group.permissions.set(wanted)
        else:
            group.permissions.add(*wanted)


def permissions_revoke(apps, *, role: str, permissions: list[tuple[str, str]]) -> None:
    for group in apps.get_model("auth", "Group").objects.filter(name=role):
        group.permissions.remove(*apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label__in={app for app, _ in permissions},
            codename__in={codename for _, codename in permissions}))
