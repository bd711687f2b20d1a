"""API permission for staff endpoints: a signed-in member of staff whose role grants one of the rights.
Which store they may act for is checked separately (inventory.selectors.staff_location_get)."""
from rest_framework.permissions import BasePermission


def staff_with(*perms: str, message: str) -> type[BasePermission]:
    class StaffWith(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff
                        and any(user.has_perm(perm) for perm in perms))

    StaffWith.message = message
    return StaffWith
