"""Parse `[[reconcile]]` job tables (MongoDB source, PostgreSQL target, key, fields, compare) into jobs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from comparators.spec import CompareSpec, Normalizer
from config.model import FieldMap, KeyKind, KeyPart, MongoSide, PostgresSide, ReconcileJob
from config.reader import Section, type_name
from config.rule_sets import RuleSets, parse_route_pipeline, parse_rule_sets

# Rules that judge a whole HTTP response (status, body kind); a reconcile pair is two documents, and the
# reconcile engine relies on every rule acting per location (proxy/reconcile/comparing.py).
HTTP_ONLY_OPS = frozenset({"errors", "status_equivalent", "parse_as"})
_FIELD = re.compile(r"^[^.\[\]$][^.\[\]]*$")
_PATH = re.compile(r"^\$(\.[^.\[\]]+)+$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def parse_reconcile(
    root: Section,
    mongo_uri: str | None = None,
    postgres_dsn: str | None = None,
    rule_sets: RuleSets | None = None,
) -> tuple[ReconcileJob, ...]:
    """Every `[[reconcile]]` table as a job; `mongo_uri` and `postgres_dsn` (flags) win over the file.

    Jobs may `use` the file's `[[rules.NAME]]` sets like routes do; pass them when already parsed.
    """
    if rule_sets is None:
        rule_sets = parse_rule_sets(root.section("rules")) if root.has("rules") else {}
    jobs: list[ReconcileJob] = []
    names: set[str] = set()
    for section in root.tables("reconcile"):
        job = _job(section, mongo_uri, postgres_dsn, rule_sets)
        if job is None:
            continue
        if job.name in names:
            section.error("name", f"duplicate reconcile job name {job.name!r}")
        names.add(job.name)
        jobs.append(job)
    return tuple(jobs)


def _job(
    section: Section, mongo_uri: str | None, postgres_dsn: str | None, rule_sets: RuleSets
) -> ReconcileJob | None:
    name = section.string("name")
    if not name:
        section.error("name", "required (a short unique name, used with --job and in reports)")
    mongo = _mongo(section.section("mongo"), mongo_uri)
    postgres = _postgres(section.section("postgres"), postgres_dsn)
    key = _key(section)
    fields = _fields(section)
    job = ReconcileJob(
        name=name,
        mongo=mongo,
        postgres=postgres,
        key=key,
        fields=fields,
        compare=CompareSpec(normalizers=_pipeline(section, rule_sets)),
        batch_size=section.integer("batch_size", 1000, 1),
        examples=section.integer("examples", 10, 0),
    )
    section.finish()
    return job if name else None


def _pipeline(section: Section, rule_sets: RuleSets) -> tuple[Normalizer, ...]:
    """`use` and `[[reconcile.compare]]`, parsed exactly like a route's `use` and `[[routes.compare]]`."""
    pipeline = parse_route_pipeline(section, rule_sets)
    for normalizer in pipeline:
        op = getattr(normalizer, "op", "")
        if op in HTTP_ONLY_OPS:
            rule = normalizer.name.partition(":")[0]
            why = f"{op!r} judges HTTP responses; reconcile compares documents"
            if rule.startswith("compare["):
                section.error(f"{rule}.op", why)
            else:
                section.error("use", f"rule {normalizer.name}: {why}")
    return tuple(n for n in pipeline if getattr(n, "op", "") not in HTTP_ONLY_OPS)


def _required(section: Section, name: str, hint: str = "") -> str:
    value = section.string(name)
    if not value and not any(e.startswith(section.path(name) + ":") for e in section.errors):
        section.error(name, f"required{hint}")
    return value


def _connection(section: Section, name: str, flag: str | None, usage: str) -> str:
    """A server address from the file, unless its command-line flag is given (then the flag wins)."""
    from_file = _required(section, name, f" (or pass {usage})") if not flag else section.string(name)
    return flag or from_file


def _mongo(section: Section, uri_flag: str | None) -> MongoSide:
    uri = _connection(section, "uri", uri_flag, "--mongo-uri URI")
    if uri and not uri.startswith(("mongodb://", "mongodb+srv://")):
        where = "--mongo-uri" if uri_flag else section.path("uri")
        section.errors.append(f"{where}: expected mongodb://… or mongodb+srv://…, got {uri!r}")
    side = MongoSide(
        uri=uri,
        database=_required(section, "database"),
        collection=_required(section, "collection"),
        filter=_document(section, "filter"),
        projection=_document(section, "projection"),
        updated_at=_dotted(section, "updated_at"),
    )
    section.finish()
    return side


def _document(section: Section, name: str) -> Mapping[str, Any]:
    """A MongoDB document written as a TOML table, or as a string of MongoDB Extended JSON (for ObjectIds)."""
    value = section.raw(name, {})
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        from bson import json_util  # pymongo's bson: only needed for this rare spelling

        try:
            parsed = json_util.loads(value)
        except ValueError as exc:
            section.error(name, f"not valid MongoDB Extended JSON: {exc}")
            return {}
        if isinstance(parsed, Mapping):
            return dict(parsed)
    section.error(name, f"expected a table or an Extended JSON string, got {type_name(value)}")
    return {}


def _dotted(section: Section, name: str) -> str:
    value = section.string(name)
    if value and not all(_FIELD.match(part) for part in value.split(".")):
        section.error(name, f"expected a field name like 'updatedAt' or 'a.b', got {value!r}")
    return value


def _postgres(section: Section, dsn_flag: str | None) -> PostgresSide:
    dsn = _connection(section, "dsn", dsn_flag, "--postgres-dsn DSN")
    if dsn and not dsn.startswith(("postgres://", "postgresql://")):
        where = "--postgres-dsn" if dsn_flag else section.path("dsn")
        section.errors.append(f"{where}: expected postgresql://…, got {dsn!r}")
    query = section.string("query").strip().rstrip(";").strip()
    table = section.string("table")
    if query and table:
        section.error("table", "give either query or table, not both")
    elif table and not _TABLE.match(table):
        section.error("table", f"expected a table name like 'mission' or 'public.mission', got {table!r}")
    elif table:
        query = "SELECT * FROM " + ".".join(f'"{part}"' for part in table.split("."))
    elif not query:
        section.error(None, "needs a query (a SELECT) or a table")
    updated_at = section.string("updated_at")
    if updated_at and not _FIELD.match(updated_at):
        section.error("updated_at", f"expected a column of the query's rows, got {updated_at!r}")
    side = PostgresSide(dsn=dsn, query=query, updated_at=updated_at)
    section.finish()
    return side


def _key(section: Section) -> tuple[KeyPart, ...]:
    raw = section.raw("key", _MISSING_KEY)
    if raw is _MISSING_KEY:
        section.error("key", 'required, e.g. key = { source = "_id", target = "id" }')
        return ()
    tables = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(tables, list) or not tables:
        section.error("key", f"expected a table or a non-empty array of tables, got {type_name(raw)}")
        return ()
    parts: list[KeyPart] = []
    for index, item in enumerate(tables):
        path = section.path("key") if isinstance(raw, Mapping) else f"{section.path('key')}[{index}]"
        part = _key_part(Section(item, path, section.errors))
        if part is not None:
            parts.append(part)
    return tuple(parts)


_MISSING_KEY = object()


def _key_part(section: Section) -> KeyPart | None:
    source = _dotted(section, "source")
    target = section.string("target")
    if not source:
        section.error("source", "required (the document field, e.g. '_id')")
    if not target:
        section.error("target", "required (the column of the query's rows, e.g. 'id')")
    elif not _FIELD.match(target):
        section.error("target", f"expected a column name, got {target!r}")
    kind = section.parsed("type", KeyKind.TEXT, _key_kind)
    lowercase = section.boolean("lowercase", False)
    if lowercase and kind is KeyKind.INT:
        section.error("lowercase", "only applies to text keys")
    section.finish()
    return KeyPart(source, target, kind, lowercase) if source and target else None


def _key_kind(text: str) -> KeyKind:
    try:
        return KeyKind(text)
    except ValueError:
        raise ValueError(f"expected one of {', '.join(k.value for k in KeyKind)}, got {text!r}") from None


def _fields(section: Section) -> tuple[FieldMap, ...]:
    """`fields = { "$.title" = "title" }`, or `fields = ["title", …]` when both sides use the same name."""
    raw = section.raw("fields", {})
    if isinstance(raw, list):
        pairs = [(f"{section.path('fields')}[{i}]", item, item) for i, item in enumerate(raw)]
    elif isinstance(raw, Mapping):
        pairs = [(f"{section.path('fields')}.{k!r}", k, v) for k, v in raw.items()]
    else:
        section.error("fields", f"expected a table or an array of field names, got {type_name(raw)}")
        return ()
    fields: list[FieldMap] = []
    for where, source, target in pairs:
        mapped = _field(where, source, target, section.errors)
        if mapped is not None:
            fields.append(mapped)
    return tuple(fields)


def _field(where: str, source: Any, target: Any, errors: list[str]) -> FieldMap | None:
    if not isinstance(source, str) or not isinstance(target, str):
        errors.append(
            f"{where}: expected a string, got {type_name(target if isinstance(source, str) else source)}"
        )
        return None
    paths = (_as_path(source), _as_path(target))
    for text, path in zip((source, target), paths, strict=True):
        if path is None:
            errors.append(f"{where}: expected a field name or a path like '$.a.b', got {text!r}")
    if paths[0] is None or paths[1] is None:
        return None
    return FieldMap(paths[0], paths[1])


def _as_path(text: str) -> str | None:
    path = text if text.startswith("$") else f"$.{text}"
    return path if _PATH.match(path) else None
