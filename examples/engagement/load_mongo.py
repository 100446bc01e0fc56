"""Loads the logical dataset into MongoDB in the legacy shape (the documents the legacy API reads)."""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, GEOSPHERE, TEXT, MongoClient
from pymongo.errors import OperationFailure

from examples.engagement.dataset import MISSION_COUNT, default_dataset
from examples.engagement.french import keywords
from examples.engagement.model import Address, Dataset, Mission, Organization, Publisher, RegistryEntry

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MongoLoadReport:
    """What was loaded, and whether the server accepted a real text index on the registry."""

    missions: int
    publishers: int
    organizations: int
    text_index: bool


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def address_document(address: Address) -> Document:
    doc: Document = {
        "_id": ObjectId(address.mongo_id),
        "street": address.street,
        "postalCode": address.postal_code,
        "departmentName": address.department_name,
        "departmentCode": address.department_code,
        "city": address.city,
        "region": address.region,
        "country": address.country,
    }
    if address.location is not None:
        lat, lon = address.location.lat, address.location.lon
        geo_id = hashlib.sha1(address.mongo_id.encode()).hexdigest()[:24]
        doc["location"] = {"lat": lat, "lon": lon}
        doc["geoPoint"] = {"_id": ObjectId(geo_id), "type": "Point", "coordinates": [lon, lat]}
    return doc


def _first_address_fields(addresses: list[Document]) -> Document:
    """The import copied addresses[0] to the top level; a mission without address has none of these."""
    if not addresses:
        return {}
    first = addresses[0]
    fields = {
        "address": first["street"],
        "city": first["city"],
        "postalCode": first["postalCode"],
        "departmentCode": first["departmentCode"],
        "departmentName": first["departmentName"],
        "region": first["region"],
        "country": first["country"],
    }
    if "location" in first:
        fields["location"] = first["location"]
    return fields


def mission_document(mission: Mission, publisher: Publisher, org: Organization) -> Document:
    addresses = [address_document(a) for a in mission.addresses]
    doc: Document = {
        "_id": ObjectId(mission.id),
        "clientId": mission.client_id,
        "publisherId": mission.publisher_id,
        "publisherName": publisher.name,
        "publisherLogo": publisher.logo,
        "publisherUrl": publisher.url,
        "title": mission.title,
        "description": mission.description,
        "tags": list(mission.tags),
        "tasks": list(mission.tasks),
        "audience": list(mission.audience),
        "softSkills": list(mission.soft_skills),
        "requirements": list(mission.requirements),
        "domain": mission.domain,
        "activity": mission.activity,
        "type": mission.type,
        "remote": mission.remote,
        "openToMinors": yes_no(mission.open_to_minors),
        "reducedMobilityAccessible": yes_no(mission.reduced_mobility_accessible),
        "closeToTransport": yes_no(mission.close_to_transport),
        "places": mission.places,
        "applicationUrl": mission.application_url,
        "postedAt": mission.posted_at,
        "createdAt": mission.created_at,
        "updatedAt": mission.updated_at,
        "lastSyncAt": mission.last_sync_at,
        "deletedAt": mission.deleted_at,
        "deleted": mission.deleted,
        "statusCode": mission.status_code,
        "statusComment": mission.status_comment,
        "statusCommentHistoric": [
            {"status": h.status, "comment": h.comment, "date": h.date} for h in mission.status_history
        ],
        "organizationId": org.id,
        "organizationName": org.snapshot_name,
        "organizationRNA": org.rna,
        "organizationClientId": org.client_id,
        "organizationStatusJuridique": org.status_juridique,
        "organizationCity": org.city,
        **_first_address_fields(addresses),
        "addresses": addresses,
    }
    optional = {"duration": mission.duration, "startAt": mission.start_at, "endAt": mission.end_at}
    doc.update({k: v for k, v in optional.items() if v is not None})  # absent, not null, in legacy
    return doc


def publisher_document(publisher: Publisher, names: dict[str, str]) -> Document:
    doc: Document = {
        "_id": ObjectId(publisher.id),
        "name": publisher.name,
        "publishers": [{"publisherId": pid, "publisherName": names[pid]} for pid in publisher.partner_ids],
        "category": publisher.category,
        "url": publisher.url,
        "logo": publisher.logo,
        "description": publisher.description,
        "role_promoteur": publisher.is_annonceur,
        "role_annonceur_api": publisher.is_diffuseur,
        "role_annonceur_widget": False,
        "role_annonceur_campagne": False,
        "createdAt": publisher.created_at,
    }
    if publisher.api_key:
        doc["apikey"] = publisher.api_key
    return doc


def registry_document(entry: RegistryEntry) -> Document:
    return {
        "_id": ObjectId(entry.id),
        "rna": entry.rna,
        "siret": entry.siret,
        "title": entry.title,
        "names": list(entry.names),
        "createdAt": entry.created_at,
        "updatedAt": entry.created_at,
        # Precomputed stems: the stand-in for $text on servers without text indexes (never served).
        "_keywords": keywords(" ".join((entry.title, *entry.names))),
    }


def load_mongo(uri: str, database: str, dataset: Dataset | None = None) -> MongoLoadReport:
    """Drop `database` and load the dataset into it; the candidate-only rows are left out."""
    data = dataset or default_dataset()
    client: MongoClient[Document] = MongoClient(uri)
    try:
        client.drop_database(database)
        db = client[database]
        publishers = {p.id: p for p in data.publishers}
        orgs = {o.id: o for o in data.organizations}
        names = {p.id: p.name for p in data.publishers}
        missions = [
            mission_document(m, publishers[m.publisher_id], orgs[m.organization_id])
            for m in data.missions
            if not m.candidate_only
        ]
        db.missions.insert_many(missions)
        db.publishers.insert_many([publisher_document(p, names) for p in data.publishers])
        db.organizations.insert_many([registry_document(e) for e in data.registry])
        text_index = _create_indexes(db)
        return MongoLoadReport(len(missions), len(data.publishers), len(data.registry), text_index)
    finally:
        client.close()


def _create_indexes(db: Any) -> bool:
    db.missions.create_index([("addresses.geoPoint", GEOSPHERE)])
    db.missions.create_index([("publisherId", ASCENDING), ("startAt", DESCENDING)])
    db.publishers.create_index([("apikey", ASCENDING)])
    db.organizations.create_index([("_keywords", ASCENDING)])
    db.organizations.create_index([("rna", ASCENDING)])
    try:
        db.organizations.create_index([("title", TEXT), ("names", TEXT)], default_language="french")
    except OperationFailure:
        return False  # SecantusDB has no text indexes: the legacy service falls back to `_keywords`
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load the engagement dataset into MongoDB (legacy shape)")
    parser.add_argument("--mongo-uri", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument(
        "--missions", type=int, default=MISSION_COUNT, help="dataset size (replay with the same)"
    )
    args = parser.parse_args(argv)
    print(load_mongo(args.mongo_uri, args.db, default_dataset(args.missions)))


if __name__ == "__main__":
    main()
