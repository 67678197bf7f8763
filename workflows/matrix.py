"""The escalation matrix (SPEC §4.1–§4.3): contacts by role and escalation levels.

Pure data; files are read by ``workers.matrix_file``. Each crisis keeps the
matrix version it used.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# A deliberately simple address check: one @, no spaces, a dot in the domain.
EMAIL_PATTERN = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
EmailStr = Annotated[str, StringConstraints(strip_whitespace=True, pattern=EMAIL_PATTERN)]

ProviderRole = Literal[
    "technical_referents",
    "incident_manager",
    "delivery_manager",
    "account_director",
    "agency_director",
    "experts",
    "security",
    "on_call",
]
ClientRole = Literal[
    "management_1",
    "management_2",
    "management_3",
    "dnum",
    "on_call_manager",
    "ciso",
    "experts",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    phone: str | None = None


class ProviderContacts(_Strict):
    technical_referents: list[Contact] = Field(min_length=1)
    incident_manager: list[Contact] = Field(min_length=1)
    delivery_manager: list[Contact] = Field(min_length=1)
    account_director: list[Contact] = Field(min_length=1)
    agency_director: list[Contact] = Field(min_length=1)
    experts: list[Contact] = []
    security: list[Contact] = Field(min_length=1, description="CSO, RSO and/or CISO")
    on_call: list[Contact] = Field(min_length=1, description="technical on-call (HNO)")


class ClientContacts(_Strict):
    management_1: list[Contact] = Field(min_length=1)
    management_2: list[Contact] = Field(min_length=1)
    management_3: list[Contact] = Field(min_length=1)
    dnum: list[Contact] = Field(min_length=1, description="the client's IT directorate address")
    on_call_manager: list[Contact] = []
    ciso: list[Contact] = Field(min_length=1)
    experts: list[Contact] = []


class Level(_Strict):
    """One escalation level: who is called, on the provider and client sides."""

    provider: list[ProviderRole] = []
    client: list[ClientRole] = []


class EscalationLevels(_Strict):
    business_hours: list[Level] = Field(min_length=3, max_length=3)
    outside_business_hours: list[Level] = Field(min_length=2, max_length=3)


class EscalationMatrix(_Strict):
    version: int = Field(ge=1)
    provider: ProviderContacts
    client: ClientContacts
    partners: dict[str, list[Contact]] = {}
    levels: EscalationLevels

    @model_validator(mode="after")
    def _hno_shape(self) -> EscalationMatrix:
        hno = self.levels.outside_business_hours
        if any(level.client for level in hno[:2]):
            raise ValueError(
                "levels.outside_business_hours: the first two levels are internal "
                "(provider roles only); the client on-call manager comes last"
            )
        if len(hno) == 3 and hno[2].client != ["on_call_manager"]:
            raise ValueError(
                "levels.outside_business_hours: the third level is the client on-call manager"
            )
        if len(hno) == 3 and not self.client.on_call_manager:
            raise ValueError(
                "client.on_call_manager: required when outside business hours has a third level"
            )
        return self

    def provider_contacts(self, role: ProviderRole) -> list[Contact]:
        found: list[Contact] = getattr(self.provider, role)
        return found

    def client_contacts(self, role: ClientRole) -> list[Contact]:
        found: list[Contact] = getattr(self.client, role)
        return found

    def level_contacts(self, level: Level) -> list[Contact]:
        return [c for r in level.provider for c in self.provider_contacts(r)] + [
            c for r in level.client for c in self.client_contacts(r)
        ]
