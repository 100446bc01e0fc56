"""Spherical geometry shared by the dataset, the legacy sphere search and the candidate bounding box."""

from __future__ import annotations

import math
from dataclasses import dataclass

MONGO_EARTH_RADIUS_M = 6_378_100.0  # what MongoDB uses for 2dsphere distances in metres
APP_EARTH_RADIUS_KM = 6371.0  # what the API's own getDistanceFromLatLonInKm uses for `_distance`
KM_PER_DEGREE_LAT = 111.32


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 position in degrees."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle, bounds included."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, point: Point) -> bool:
        return self.min_lat <= point.lat <= self.max_lat and self.min_lon <= point.lon <= self.max_lon


PARIS = Point(48.8566, 2.3522)


def haversine_m(a: Point, b: Point, radius_m: float = MONGO_EARTH_RADIUS_M) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlambda = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius_m * math.asin(min(1.0, math.sqrt(h)))


def app_distance_km(a: Point | None, b: Point | None) -> float | None:
    """The API's `_distance` in km; None where JavaScript would have produced NaN."""
    if a is None or b is None:
        return None
    return haversine_m(a, b, APP_EARTH_RADIUS_KM * 1000) / 1000


def destination(origin: Point, bearing_deg: float, distance_m: float) -> Point:
    """The point reached from `origin` after `distance_m` on the sphere along `bearing_deg`."""
    delta = distance_m / MONGO_EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    phi1, lambda1 = math.radians(origin.lat), math.radians(origin.lon)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    return Point(round(math.degrees(phi2), 7), round(math.degrees(lambda2), 7))


def bounding_box(center: Point, distance_km: float) -> Box:
    """The candidate's flat-earth box: its corners lie about 1.41 x distance from the centre."""
    dlat = distance_km / KM_PER_DEGREE_LAT
    dlon = distance_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(center.lat)))
    return Box(center.lat - dlat, center.lat + dlat, center.lon - dlon, center.lon + dlon)


def parse_distance_km(raw: str | None) -> float:
    """`25km`, `500m`, `12` (km); `0`/`0km` mean 10 km and absent means 50 km, as in the API."""
    if raw is None or raw == "":
        return 50.0
    if raw in ("0", "0km"):
        return 10.0
    text = raw.strip().lower()
    try:
        if text.endswith("km"):
            return float(text[:-2])
        if text.endswith("m"):
            return float(text[:-1]) / 1000
        return float(text)
    except ValueError:
        return 50.0
