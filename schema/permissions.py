"""Who may touch a field. Declared on fields (`permission_classes=[...]`), never checked in bodies."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types.info import Info

from resolvers.context import Context


def _viewer(info: Info) -> Any:
    context: Context = info.context
    return context.viewer


class IsAuthenticated(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        return bool(viewer.is_authenticated and not viewer.is_display and not viewer.is_statistics_display)


class IsPatient(BasePermission):
    message = "only a patient account may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(_viewer(info).is_patient)


class IsDoctor(BasePermission):
    message = "only a doctor may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(_viewer(info).is_doctor)


class IsStaff(BasePermission):
    message = "only hospital staff may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        return bool(viewer.is_doctor or viewer.is_admin)


class IsRegistrar(BasePermission):
    """Front-desk staff (scoped to their departments in the use case) and administrators."""

    message = "only registration-desk staff may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        return bool(viewer.is_registrar or viewer.is_admin)


class IsAdmin(BasePermission):
    message = "only an administrator may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(_viewer(info).is_admin)


class IsDisplayOrStaff(BasePermission):
    """Waiting-room displays (room-scoped display tokens) and staff."""

    message = "a display token or a staff login is required"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        return bool(viewer.is_display or viewer.is_doctor or viewer.is_admin)


class IsStatisticsDisplayOrAdmin(BasePermission):
    """The statistics big screen (a statistics display token) and administrators."""

    message = "a statistics display token or an administrator login is required"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        return bool(viewer.is_statistics_display or viewer.is_admin)
