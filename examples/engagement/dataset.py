"""Deterministic generator of the logical dataset: one seed and a frozen clock always give the same data."""

from __future__ import annotations

import functools
import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

from examples.engagement import vocabulary as voc
from examples.engagement.geo import PARIS, Point, destination
from examples.engagement.model import (
    Address,
    Dataset,
    Mission,
    Organization,
    Probes,
    Publisher,
    RegistryEntry,
    StatusComment,
)

DEFAULT_SEED = 20250601
FROZEN_NOW = datetime(2025, 6, 1, tzinfo=UTC)
MISSION_COUNT = 2000
REGISTRY_COUNT = 300
ORGANIZATION_COUNT = 150
ANNONCEUR_COUNT = 44
CANDIDATE_ONLY_COUNT = 5
# Many missions start at one of these midnights: ties on startAt are the norm, not the exception.
MIDNIGHTS = tuple(FROZEN_NOW + timedelta(days=d) for d in (0, 14, 30, 92, 122))
GEO_PROBE_RADII_KM = (10, 25, 50)


class _Rng(random.Random):
    """random.Random with the id and date helpers the generator needs."""

    def __init__(self, seed: int, now: datetime) -> None:
        super().__init__(seed)
        self.now = now

    def object_id(self, at: datetime) -> str:
        return f"{int(at.timestamp()):08x}{self.getrandbits(64):016x}"

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def past(self, max_days: int, micros: bool = False) -> datetime:
        moment = self.now - timedelta(seconds=self.randrange(60, max_days * 86400))
        return moment + timedelta(
            microseconds=self.randrange(1_000_000) if micros else self.randrange(1000) * 1000
        )

    def digits(self, n: int) -> str:
        return "".join(str(self.randrange(10)) for _ in range(n))


def generate(
    seed: int = DEFAULT_SEED, now: datetime = FROZEN_NOW, mission_count: int = MISSION_COUNT
) -> Dataset:
    """Build the whole dataset; pure function of its arguments (fewer missions make a lighter demo)."""
    rng = _Rng(seed, now)
    publishers = _publishers(rng)
    # Pure annonceurs first: the first two carry most missions and the geo probes.
    annonceurs = sorted((p for p in publishers if p.is_annonceur), key=lambda p: p.is_diffuseur)
    organizations = _organizations(rng, annonceurs)
    registry = tuple(_registry_entry(rng, i) for i in range(REGISTRY_COUNT))
    orgs_by_publisher: dict[str, list[Organization]] = {}
    for org in organizations:
        orgs_by_publisher.setdefault(org.publisher_id, []).append(org)
    visible = [p for p in annonceurs if p.name != NEW_PARTNER_NAME]
    hidden = next(p for p in annonceurs if p.name == NEW_PARTNER_NAME)
    probes_publisher = visible[0]
    geo = _geo_probes(rng, probes_publisher, orgs_by_publisher[probes_publisher.id])
    regular = [
        _mission(rng, i, _pick_publisher(rng, visible), orgs_by_publisher)
        for i in range(mission_count - len(geo) - CANDIDATE_ONLY_COUNT)
    ]
    fresh = [
        _candidate_only(rng, i, hidden, orgs_by_publisher[hidden.id]) for i in range(CANDIDATE_ONLY_COUNT)
    ]
    missions = tuple(regular + [m for _, m in geo] + fresh)
    probes = Probes(
        refused_mission_id=next(m.id for m in regular if m.status_code == "REFUSED" and not m.deleted),
        deleted_mission_id=next(m.id for m in regular if m.deleted),
        candidate_only_mission_id=fresh[0].id,
        accepted_mission_id=dict(geo)["center"].id,
        geo_mission_ids={label: m.id for label, m in geo},
    )
    return Dataset(seed, now, publishers, organizations, registry, missions, probes)


@functools.cache
def default_dataset(mission_count: int = MISSION_COUNT) -> Dataset:
    """The dataset loaders, tests and the replayer share; sizes from 300 missions up keep every edge case."""
    return generate(mission_count=mission_count)


NEW_PARTNER_NAME = "Nouveau partenaire 2025"


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in ascii_name.lower()).strip("-")


def _publishers(rng: _Rng) -> tuple[Publisher, ...]:
    annonceur_names = list(voc.ANNONCEUR_NAMES)
    while len(annonceur_names) < ANNONCEUR_COUNT - 1:
        annonceur_names.append(f"Plateforme {rng.choice(voc.ORG_TOPICS)} n°{len(annonceur_names) + 1}")
    annonceur_names.append(NEW_PARTNER_NAME)
    annonceur_ids = [rng.object_id(rng.past(900)) for _ in annonceur_names]
    diffuseur_ids = [rng.object_id(rng.past(900)) for _ in voc.DIFFUSEUR_NAMES]
    visible = annonceur_ids[:-1]
    # HelloAsso and the Mairie both diffuse and publish, so `/v0/publisher` has something to list.
    helloasso, mairie = diffuseur_ids[2], diffuseur_ids[4]
    partner_lists: tuple[list[str], ...] = (
        [*visible, helloasso, mairie],
        visible[:20],
        [*visible[:10], mairie],
        visible[:3],
        [*visible[5:10], helloasso],
        [],
    )
    result = [
        _publisher(rng, pid, name, tuple(partners), annonceur=pid in (helloasso, mairie))
        for pid, name, partners in zip(diffuseur_ids, voc.DIFFUSEUR_NAMES, partner_lists, strict=True)
    ]
    result += [
        _publisher(rng, pid, name, (), annonceur=True)
        for pid, name in zip(annonceur_ids, annonceur_names, strict=True)
    ]
    return tuple(result)


def _publisher(rng: _Rng, pid: str, name: str, partners: tuple[str, ...], annonceur: bool) -> Publisher:
    diffuseur = name in voc.DIFFUSEUR_NAMES
    return Publisher(
        id=pid,
        name=name,
        api_key=f"{_slug(name)}-{rng.getrandbits(64):016x}" if diffuseur else None,
        partner_ids=partners,
        category="diffuseur" if diffuseur else rng.choice(("association", "plateforme", "collectivite")),
        url=f"https://www.{_slug(name)}.fr",
        logo=f"https://cdn.api-engagement.beta.gouv.fr/logos/{pid}.png",
        description=f"{name} : partenaire de l'API Engagement.",
        is_annonceur=annonceur or not diffuseur,
        is_diffuseur=diffuseur,
        created_at=rng.past(900),
    )


def _organizations(rng: _Rng, annonceurs: list[Publisher]) -> tuple[Organization, ...]:
    owners = [*annonceurs, *(rng.choice(annonceurs[:2]) for _ in range(ORGANIZATION_COUNT - len(annonceurs)))]
    result = []
    for i, owner in enumerate(owners):
        city = rng.choice(voc.CITIES)
        name = f"{rng.choice(voc.ORG_KINDS)} {rng.choice(voc.ORG_TOPICS)} de {city.name}"
        renamed = i % 30 == 7  # a few organizations were renamed after the legacy missions copied their name
        result.append(
            Organization(
                id=rng.object_id(rng.past(900)),
                publisher_id=owner.id,
                client_id=f"org-{i:04d}",
                name=f"{name} (antenne {city.department_code})" if renamed else name,
                snapshot_name=name,
                rna=f"W{rng.digits(9)}" if rng.random() < 0.8 else "",
                siren=rng.digits(9),
                status_juridique=rng.choice(voc.STATUS_JURIDIQUE),
                city=city.name,
            )
        )
    return tuple(result)


def _registry_entry(rng: _Rng, i: int) -> RegistryEntry:
    city = rng.choice(voc.CITIES)
    topic = rng.choice(voc.ORG_TOPICS)
    title = f"{rng.choice(voc.ORG_KINDS)} {topic} de {city.name}"
    acronym = "".join(w[0] for w in title.split() if w[0].isalpha()).upper()
    return RegistryEntry(
        id=rng.object_id(rng.past(2000)),
        rna=f"W{rng.digits(9)}",
        siret=rng.digits(14),
        title=title,
        names=(title, acronym) if i % 3 else (title,),
        created_at=rng.past(2000),
    )


def _pick_publisher(rng: _Rng, visible: list[Publisher]) -> Publisher:
    roll = rng.random()
    if roll < 0.3:
        return visible[0]
    if roll < 0.45:
        return visible[1]
    return rng.choice(visible)


def _address(rng: _Rng, city: voc.City | None = None, at: Point | None = None) -> Address:
    city = city or rng.choices(voc.CITIES, weights=[c.weight for c in voc.CITIES])[0]
    location = at or Point(
        round(city.center.lat + rng.uniform(-0.06, 0.06), 6),
        round(city.center.lon + rng.uniform(-0.08, 0.08), 6),
    )
    partial = at is None and rng.random() < 0.05  # geocoding found the city but not the rest
    return Address(
        mongo_id=rng.object_id(rng.past(400)),
        uuid=rng.uuid4(),
        street=""
        if partial
        else f"{rng.randrange(1, 200)} rue {rng.choice(('de la Paix', 'Victor Hugo', 'des Écoles'))}",
        postal_code="" if partial else city.postal_code,
        department_name="" if partial else city.department_name,
        department_code="" if partial else city.department_code,
        city=city.name,
        region=city.region,
        country="FR",
        location=None if at is None and rng.random() < 0.01 else location,
    )


def _addresses(rng: _Rng) -> tuple[Address, ...]:
    roll = rng.random()
    if roll < 0.03:
        return ()  # fully remote: no address at all
    if roll < 0.10:
        return tuple(_address(rng) for _ in range(rng.choice((2, 2, 3))))
    return (_address(rng),)


def _title(rng: _Rng, i: int) -> str:
    if i % 97 == 3:
        return voc.TITLES_PERCENT[i % len(voc.TITLES_PERCENT)]
    if i % 89 == 5:
        return voc.TITLES_AIDE_AUX[i % len(voc.TITLES_AIDE_AUX)]
    title = rng.choice(voc.TITLE_STEMS)
    return f"{title} {voc.TITLE_SUFFIX_HF}" if rng.random() < 0.08 else title


def _messy(rng: _Rng, words: tuple[str, ...], k: int) -> tuple[str, ...]:
    """Clean picks most of the time; sometimes the duplicated, padded and blank entries real feeds carry."""
    picked = rng.sample(words, k)
    if rng.random() < 0.1:
        return (*picked, f" {picked[0]} ", "", picked[-1])
    return tuple(picked)


def _start_at(rng: _Rng) -> datetime | None:
    roll = rng.random()
    if roll < 0.02:
        return None
    if roll < 0.42:
        return rng.choice(MIDNIGHTS)
    return rng.now + timedelta(
        seconds=rng.randrange(-90 * 86400, 200 * 86400), milliseconds=rng.randrange(1000)
    )


def _history(rng: _Rng, created: datetime, refused: bool) -> tuple[StatusComment, ...]:
    entries = [StatusComment("ACCEPTED", "", created + timedelta(hours=1))] if rng.random() < 0.5 else []
    if refused:
        entries.append(StatusComment("REFUSED", "Mission hors périmètre", created + timedelta(days=1)))
    return tuple(entries)


def _activity(rng: _Rng) -> str:
    if rng.random() < 0.08:
        first, second = sorted(rng.sample(voc.ACTIVITIES, 2), reverse=True)
        return f"{first}, {second}"  # unsorted on purpose: the candidate returns sorted names
    return rng.choice(voc.ACTIVITIES)


def _mission(
    rng: _Rng,
    i: int,
    publisher: Publisher,
    orgs_by_publisher: dict[str, list[Organization]],
    addresses: tuple[Address, ...] | None = None,
    title: str | None = None,
    start_at: datetime | None = None,
) -> Mission:
    created = rng.past(400)
    refused = addresses is None and rng.random() < 0.04
    deleted = addresses is None and rng.random() < 0.02
    start = start_at if addresses is not None else _start_at(rng)
    org = rng.choice(orgs_by_publisher[publisher.id])
    client_id = f"{_slug(publisher.name)[:12]}-{i:05d}"
    return Mission(
        id=rng.object_id(created),
        client_id=client_id,
        publisher_id=publisher.id,
        organization_id=org.id,
        title=title or _title(rng, i),
        description=f"Mission proposée par {org.snapshot_name}. Rejoignez-nous !",
        tags=_messy(rng, voc.TAGS, 2),
        tasks=_messy(rng, voc.TASKS, 2),
        audience=_messy(rng, voc.AUDIENCES, 1),
        soft_skills=_messy(rng, voc.SOFT_SKILLS, 2),
        requirements=_messy(rng, voc.REQUIREMENTS, 1),
        domain=rng.choice(voc.DOMAINS),
        activity=_activity(rng),
        type="volontariat_service_civique" if rng.random() < 0.2 else "benevolat",
        remote=rng.choices(("no", "possible", "full"), weights=(80, 15, 5))[0],
        open_to_minors=rng.random() < 0.3,
        reduced_mobility_accessible=rng.random() < 0.4,
        close_to_transport=rng.random() < 0.6,
        places=rng.randrange(1, 21),
        duration=rng.choice((None, 1, 3, 6, 12)),
        application_url=f"{publisher.url}/missions/{client_id}",
        posted_at=created,
        start_at=start,
        end_at=start + timedelta(days=rng.choice((30, 90, 180))) if start and rng.random() < 0.7 else None,
        created_at=created,
        updated_at=created + timedelta(days=rng.randrange(30), microseconds=rng.randrange(1_000_000)),
        last_sync_at=rng.past(3, micros=True),
        deleted_at=created + timedelta(days=2) if deleted else None,
        status_code="REFUSED" if refused else "ACCEPTED",
        status_comment="Mission hors périmètre" if refused else "",
        status_history=_history(rng, created, refused),
        addresses=_addresses(rng) if addresses is None else addresses,
    )


def _geo_probes(rng: _Rng, publisher: Publisher, orgs: list[Organization]) -> list[tuple[str, Mission]]:
    """Missions placed just inside/outside each radius around Paris and in the bounding-box corners."""
    placements: list[tuple[str, float, float]] = [("center", 0.0, 0.0)]
    for km in GEO_PROBE_RADII_KM:
        placements += [
            (f"inside_{km}km", 90.0, km * 0.97),
            (f"outside_{km}km", 0.0, km * 1.03),
            (f"box_corner_{km}km", 45.0, km * 1.3),  # inside the flat box, outside the circle
            (f"outside_box_{km}km", 225.0, km * 1.5),
        ]
    paris = voc.CITIES[0]
    result = []
    for n, (label, bearing, distance_km) in enumerate(placements):
        at = destination(PARIS, bearing, distance_km * 1000)
        address = _address(rng, paris, at)
        mission = _mission(
            rng,
            90_000 + n,
            publisher,
            {publisher.id: orgs},
            addresses=(address,),
            title=f"Sonde géographique {label}",
            start_at=MIDNIGHTS[1] + timedelta(hours=n),
        )
        result.append((label, mission))
    return result


def _candidate_only(rng: _Rng, i: int, publisher: Publisher, orgs: list[Organization]) -> Mission:
    """A mission created on the candidate after the backfill: UUID id, unknown to legacy."""
    mission = _mission(rng, 80_000 + i, publisher, {publisher.id: orgs})
    created = rng.now - timedelta(hours=i + 1)
    return Mission(
        **{
            **{f: getattr(mission, f) for f in Mission.__dataclass_fields__},
            "id": rng.uuid4(),
            "created_at": created,
            "posted_at": created,
            "status_code": "ACCEPTED",
            "deleted_at": None,
            "candidate_only": True,
        }
    )
