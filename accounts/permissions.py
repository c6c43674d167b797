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


IsRegistryStaff = HasRole.of(Role.CASE_WORKER, Role.FINANCE, Role.COORDINATOR, Role.ADMIN)
IsCaseWorker = HasRole.of(Role.CASE_WORKER, Role.ADMIN)
