from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from gualema.settings import Settings
from models.accounts import Role
from models.department_scope import EVERY_DEPARTMENT, DepartmentScope
from models.partners import PartnerGrant
from resolvers.loaders import DepartmentScoped

DISPLAY_ROLE = "display"
# The statistics big screen's token: the dashboard subscription and nothing else.
STATISTICS_DISPLAY_ROLE = "statistics_display"

L = TypeVar("L")


@dataclass(frozen=True)
class Viewer:
    account_id: int | None = None
    role: str | None = None
    room_ids: frozenset[int] = frozenset()
    expires_at: datetime | None = None
    token_id: str = ""  # the access token's id, for logging out of this very token
    issued_at: datetime | None = None
    family: str = ""  # the login (refresh family) that issued the token, for revocation checks

    @property
    def is_authenticated(self) -> bool:
        return self.role is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    @property
    def is_registrar(self) -> bool:
        return self.role == Role.REGISTRAR

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_display(self) -> bool:
        return self.role == DISPLAY_ROLE

    @property
    def is_statistics_display(self) -> bool:
        return self.role == STATISTICS_DISPLAY_ROLE


ANONYMOUS = Viewer()


@dataclass
class Context:
    """Per HTTP request, or per WebSocket connection (then `fresh_loaders` is called per event)."""

    request: HTTPConnection | None
    response: Any
    settings: Settings
    viewer: Viewer = ANONYMOUS
    connection_params: dict[str, Any] | None = None
    partner: PartnerGrant | None = None  # the request came with a partner API key
    departments: DepartmentScope = EVERY_DEPARTMENT  # whose data may be read (a key's scope)
    _loaders: dict[type, Any] = field(default_factory=dict)
    # What this answer showed, for the browse cache (models/public_changes.py, decision 260).
    shown: set[str] = field(default_factory=set)
    # bookSlot refused from this process's sold-out mark (gualema/sold_out_answers.py, decision 274).
    refused_from_sold_out_mark: bool = False

    def shows(self, *tags: str) -> None:
        self.shown.update(tags)

    def loader(self, loader_class: type[L]) -> L:
        existing = self._loaders.get(loader_class)
        if existing is None:
            existing = loader_class()
            if isinstance(existing, DepartmentScoped):
                existing.scope = self.departments
            self._loaders[loader_class] = existing
        return existing

    def fresh_loaders(self) -> None:
        self._loaders.clear()

    @property
    def client_ip(self) -> str:
        if self.request is None or self.request.client is None:
            return "unknown"
        return self.request.client.host
