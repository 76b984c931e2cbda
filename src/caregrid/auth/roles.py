"""Roles and the principal (who is acting) passed into every service call."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    REGULATOR = "regulator"
    NETWORK_ADMIN = "network_admin"
    INSTITUTION_ADMIN = "institution_admin"
    CLINICIAN = "clinician"
    FAMILY_DOCTOR = "family_doctor"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Principal:
    """The acting user (or the system, for CLI jobs) with the scope their account grants."""

    username: str
    roles: frozenset[Role]
    user_id: int | None = None
    institution_id: int | None = None
    network_id: int | None = None
    display_name: str = ""
    system: bool = field(default=False)

    def has(self, *roles: Role) -> bool:
        return self.system or bool(self.roles.intersection(roles))


SYSTEM = Principal(username="system", roles=frozenset(Role), display_name="CareGrid", system=True)
