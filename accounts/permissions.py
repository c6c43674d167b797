from rest_framework.permissions import BasePermission

from accounts.models import Role


class HasRole(BasePermission):
    """Allow authenticated users whose role is one of `roles`. Build with `HasRole.of(...)`."""

    roles: tuple[str, ...] = ()
    message = "Your role does not allow this."

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(*self.roles))


# One table of who may do what, used by the API permission classes and the page decorators alike.
REGISTRY_ROLES = (Role.CASE_WORKER, Role.FINANCE, Role.COORDINATOR, Role.ADMIN)
DUPLICATE_REVIEW_ROLES = (Role.CASE_WORKER, Role.ADMIN)

IsRegistryStaff = HasRole.of(*REGISTRY_ROLES)
IsDuplicateReviewer = HasRole.of(*DUPLICATE_REVIEW_ROLES)
