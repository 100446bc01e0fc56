"""The logical dataset both stores are loaded from: frozen values, independent of either store's shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from examples.engagement.geo import Point


@dataclass(frozen=True, slots=True)
class Publisher:
    """A partner: annonceurs publish missions, diffuseurs (with an API key) show their partners' missions."""

    id: str  # 24-hex ObjectId
    name: str
    api_key: str | None
    partner_ids: tuple[str, ...]  # annonceurs whose missions this diffuseur may show
    category: str
    url: str
    logo: str
    description: str
    is_annonceur: bool
    is_diffuseur: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization as one annonceur declares it (`publisher_organization` on the candidate)."""

    id: str
    publisher_id: str
    client_id: str
    name: str  # current name, what the candidate joins
    snapshot_name: str  # what legacy missions copied at import time; differs when the org was renamed
    rna: str  # "" when unknown
    siren: str
    status_juridique: str
    city: str


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """An entry of the national associations registry (`/v0/organization`)."""

    id: str
    rna: str
    siret: str
    title: str
    names: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Address:
    """One place of a mission; empty parts are "" (the legacy convention), location may be unknown."""

    mongo_id: str  # legacy sub-document _id
    uuid: str  # candidate mission_address.id
    street: str
    postal_code: str
    department_name: str
    department_code: str
    city: str
    region: str
    country: str
    location: Point | None


@dataclass(frozen=True, slots=True)
class StatusComment:
    """One entry of a mission's moderation history."""

    status: str
    comment: str
    date: datetime


@dataclass(frozen=True, slots=True)
class Mission:
    """A volunteering mission as published by an annonceur."""

    id: str  # 24-hex for backfilled rows, UUIDv4 for rows created on the candidate only
    client_id: str
    publisher_id: str
    organization_id: str
    title: str
    description: str
    tags: tuple[str, ...]
    tasks: tuple[str, ...]
    audience: tuple[str, ...]
    soft_skills: tuple[str, ...]
    requirements: tuple[str, ...]
    domain: str
    activity: str  # legacy single string, possibly "b, a" for two activities
    type: str
    remote: str
    open_to_minors: bool
    reduced_mobility_accessible: bool
    close_to_transport: bool
    places: int
    duration: int | None
    application_url: str
    posted_at: datetime
    start_at: datetime | None
    end_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime
    deleted_at: datetime | None
    status_code: str
    status_comment: str
    status_history: tuple[StatusComment, ...]
    addresses: tuple[Address, ...]
    candidate_only: bool = False

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def activity_names(self) -> tuple[str, ...]:
        """The candidate's `mission_activity` rows: the legacy string split, sorted."""
        return tuple(sorted({a.strip() for a in self.activity.split(",") if a.strip()}))


@dataclass(frozen=True, slots=True)
class Probes:
    """Well-known ids and positions the replayer and the tests aim at."""

    refused_mission_id: str
    deleted_mission_id: str
    candidate_only_mission_id: str
    accepted_mission_id: str
    geo_mission_ids: dict[str, str] = field(default_factory=dict)  # label -> mission id


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything generated from one seed at one frozen instant."""

    seed: int
    now: datetime
    publishers: tuple[Publisher, ...]
    organizations: tuple[Organization, ...]
    registry: tuple[RegistryEntry, ...]
    missions: tuple[Mission, ...]
    probes: Probes

    @property
    def api_keys(self) -> dict[str, str]:
        """Diffuseur name -> API key, for every publisher that has one."""
        return {p.name: p.api_key for p in self.publishers if p.api_key}

    def publisher(self, publisher_id: str) -> Publisher:
        return next(p for p in self.publishers if p.id == publisher_id)

    def organization(self, organization_id: str) -> Organization:
        return next(o for o in self.organizations if o.id == organization_id)
