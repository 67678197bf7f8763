"""The escalation matrix (SPEC §4.1–§4.3): contacts by role and escalation levels.

Pure data; files are read by ``workers.matrix_file``. Each crisis keeps the
matrix version it used.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

# Addresses are checked as everywhere else (workflows.limits): when the file is read, and not
# again when a crisis holding this matrix replays.
from workflows.limits import Email

ProviderRole = Literal[
    "technical_referents",
    "incident_manager",
    "delivery_manager",
    "account_director",
    "agency_director",
    "experts",
    "security",
    "on_call",
    "change_manager",
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
    email: Email
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
    change_manager: list[Contact] = Field(
        default=[], description="receives urgent change requests (the incident manager if none)"
    )


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
    warning: str | None = Field(
        default=None,
        description="Set by the worker, never in the file: why this is the last valid matrix "
        "and not the file's (the file is broken)",
    )

    @model_serializer(mode="wrap")
    def _without_an_empty_warning(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Without a warning, the payload a worker of an earlier release (which forbids the
        unknown key) can read, as before the field existed."""
        data = handler(self)
        if isinstance(data, dict) and data.get("warning") is None:
            data.pop("warning", None)
        return data

    provider: ProviderContacts
    client: ClientContacts
    partners: dict[str, list[Contact]] = {}
    levels: EscalationLevels
    rex_distribution: list[str] = Field(
        default=[
            "provider.incident_manager",
            "provider.delivery_manager",
            "provider.account_director",
            "client.management_1",
            "client.dnum",
        ],
        description="§4.8: who receives the submitted REX (restricted distribution), as "
        "provider.<role> and client.<role>",
    )

    @model_validator(mode="after")
    def _known_roles(self) -> EscalationMatrix:
        unknown = [r for r in self.rex_distribution if r not in self.known_roles()]
        if unknown:
            raise ValueError(f"rex_distribution: unknown role(s) {', '.join(unknown)}")
        return self

    def role_of(self, who: str) -> str | None:
        """The matrix role of a person named by e-mail or name (RACI), if listed."""
        key = who.strip().lower()
        for side, contacts in (("provider", self.provider), ("client", self.client)):
            for role in type(contacts).model_fields:
                for c in getattr(contacts, role):
                    if key in (str(c.email).lower(), c.name.lower()):
                        return f"{side}.{role}"
        for name, members in self.partners.items():
            if any(key in (str(c.email).lower(), c.name.lower()) for c in members):
                return f"partner.{name}"
        return None

    def contacts_for(self, roles: list[str]) -> list[Contact]:
        """Contacts of roles written provider.<role> or client.<role>."""
        found: list[Contact] = []
        for name in roles:
            side, _, role = name.partition(".")
            contacts = self.provider if side == "provider" else self.client
            if side in ("provider", "client") and role in type(contacts).model_fields:
                found += getattr(contacts, role)
        return found

    @staticmethod
    def known_roles() -> set[str]:
        return {f"provider.{r}" for r in ProviderContacts.model_fields} | {
            f"client.{r}" for r in ClientContacts.model_fields
        }

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
