"""Load a TOML file into a validated, frozen Config, reporting every error with its key path at once."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from comparators.noise import NoiseThresholds
from comparators.paths import parse_path
from comparators.spec import DEFAULT_IGNORED_HEADERS, CompareSpec
from config.cutover_section import parse_cutover
from config.model import (
    Config,
    CutoverSettings,
    Mode,
    RedactSettings,
    RouteRule,
    ServerSettings,
    ShadowSettings,
    StoreSettings,
)
from config.reader import Section, parse_hostport, parse_upstream_url
from config.reconcile_section import parse_reconcile
from config.route_cutover_section import check_route_modes, parse_route_cutover
from config.rule_sets import RuleSets, parse_route_pipeline, parse_rule_sets

HTTP_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


class ConfigError(ValueError):
    """The configuration is invalid; `errors` holds one `key.path: message` line per problem."""

    def __init__(self, errors: list[str], source: str = "") -> None:
        self.errors = list(errors)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{len(errors)} configuration error(s){where}:\n  " + "\n  ".join(errors))


def load_config(path: str | Path, **overrides: Any) -> Config:
    """Read and validate a TOML file; `overrides` (legacy=, candidate=, …) win over the file's values."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"<file>: cannot read {source}: {exc.strerror}"], source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"<file>: {source} is not UTF-8: {exc.reason}"], source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"<toml>: {exc}"], source) from None
    return parse_config(data, source=source, **overrides)


def parse_config(data: dict[str, Any], source: str = "", **overrides: Any) -> Config:
    """Validate a parsed TOML document (plus command-line overrides) into a Config."""
    errors: list[str] = []
    root = Section(data, "", errors)
    upstreams = _upstreams(root.section("upstreams"), overrides)
    server = _server(root.section("server"), overrides)
    shadow = _shadow(root.section("shadow"))
    store = _store(root.section("store"), overrides)
    redact = _redact(root.section("redact"))
    default_compare = _default_compare(root.section("compare"))
    cutover = parse_cutover(root.section("cutover"), CutoverSettings())
    noise = _noise(root.section("noise"))
    rule_sets = parse_rule_sets(root.section("rules"))
    routes = _routes(root, default_compare, cutover, rule_sets)
    reconcile = parse_reconcile(root, rule_sets=rule_sets)
    log_bodies = root.boolean("log_bodies", False)
    instance_id = root.string("instance_id", "")
    root.finish()
    check_route_modes(routes, upstreams[1], errors)
    if upstreams[0] is None and not any(e.startswith(("upstreams.legacy", "--legacy")) for e in errors):
        errors.append("upstreams.legacy: required (or pass --legacy URL)")
    if errors:
        raise ConfigError(errors, source)
    return Config(
        legacy=upstreams[0] or "",
        candidate=upstreams[1],
        secondary=upstreams[2],
        server=server,
        shadow=shadow,
        store=store,
        redact=redact,
        default_compare=default_compare,
        routes=routes,
        reconcile=reconcile,
        instance_id=overrides.get("instance_id") or instance_id,
        log_bodies=log_bodies,
        source=source,
        cutover=cutover,
        noise=noise,
    )


def _override_url(section: Section, name: str, overrides: dict[str, Any]) -> str | None:
    given = overrides.get(name)
    if given:
        section.seen.add(name)  # the file may name it too: the flag wins, the key is not unknown
        try:
            return parse_upstream_url(given)
        except ValueError as exc:
            section.errors.append(f"--{name}: {exc}")
            return None
    return section.parsed(name, None, parse_upstream_url)


def _upstreams(section: Section, overrides: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    result = tuple(_override_url(section, name, overrides) for name in ("legacy", "candidate", "secondary"))
    section.finish()
    return result  # type: ignore[return-value]


def _server(section: Section, overrides: dict[str, Any]) -> ServerSettings:
    d = ServerSettings()
    listen = section.parsed("listen", d.listen, parse_hostport)
    admin = section.parsed("admin_listen", d.admin_listen, parse_hostport)
    for flag, current in (("listen", listen), ("admin_listen", admin)):
        if overrides.get(flag):
            try:
                current = parse_hostport(overrides[flag])
            except ValueError as exc:
                section.errors.append(f"--{flag.replace('_', '-')}: {exc}")
            listen, admin = (current, admin) if flag == "listen" else (listen, current)
    settings = ServerSettings(
        listen=listen,
        admin_listen=admin,
        preserve_host=section.boolean("preserve_host", d.preserve_host),
        legacy_connect_timeout=section.number("legacy_connect_timeout", d.legacy_connect_timeout, 0.001),
        legacy_timeout=section.number("legacy_timeout", d.legacy_timeout, 0.001),
        max_request_body=section.integer("max_request_body", d.max_request_body, 0),
        drain_timeout=section.number("drain_timeout", d.drain_timeout),
        max_request_line=section.integer("max_request_line", d.max_request_line, 64),
        max_header_size=section.integer("max_header_size", d.max_header_size, 64),
        max_headers=section.integer("max_headers", d.max_headers, 1),
        header_timeout=section.number("header_timeout", d.header_timeout, 0.001),
        body_timeout=section.number("body_timeout", d.body_timeout, 0.001),
        max_in_flight=section.integer("max_in_flight", d.max_in_flight, 0),
    )
    section.finish()
    return settings


def _shadow(section: Section) -> ShadowSettings:
    d = ShadowSettings()
    settings = ShadowSettings(
        max_in_flight=section.integer("max_in_flight", d.max_in_flight, 0),
        timeout=section.number("timeout", d.timeout, 0.001),
        max_compare_bytes=section.integer("max_compare_bytes", d.max_compare_bytes, 0),
        sample_rate=section.number("sample_rate", d.sample_rate, 0.0, 1.0),
        marker_header=section.string("marker_header", d.marker_header),
        worker_threshold_bytes=section.integer("worker_threshold_bytes", d.worker_threshold_bytes, 0),
        drain_timeout=section.number("drain_timeout", d.drain_timeout),
        resample_legacy=section.number("resample_legacy", d.resample_legacy, 0.0, 1.0),
        strip_credentials_for_candidate=section.boolean(
            "strip_credentials_for_candidate", d.strip_credentials_for_candidate
        ),
    )
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", settings.marker_header):
        section.error("marker_header", f"not a valid header name: {settings.marker_header!r}")
    section.finish()
    return settings


def _noise(section: Section) -> NoiseThresholds:
    d = NoiseThresholds()
    thresholds = NoiseThresholds(
        confidence=section.number("confidence", d.confidence, 0.5, 0.999999),
        relative=section.number("relative", d.relative, 0.0),
        absolute=section.number("absolute", d.absolute, 0.0, 1.0),
        min_baseline=section.integer("min_baseline", d.min_baseline, 1),
        min_baseline_differed=section.integer("min_baseline_differed", d.min_baseline_differed, 1),
    )
    section.finish()
    return thresholds


def _store(section: Section, overrides: dict[str, Any]) -> StoreSettings:
    d = StoreSettings()
    url = section.string("url", d.url)
    url = overrides.get("store") or url
    if not re.match(r"^(sqlite:///|sqlite://:memory:|postgres(ql)?://)", url):
        section.error("url", f"expected sqlite:///PATH or postgresql://…, got {url!r}")
    settings = StoreSettings(
        url=url,
        batch_size=section.integer("batch_size", d.batch_size, 1),
        flush_interval=section.number("flush_interval", d.flush_interval, 0.01),
        buffer_size=section.integer("buffer_size", d.buffer_size, 1),
        max_body_bytes=section.integer("max_body_bytes", d.max_body_bytes, 0),
        examples_per_hour=section.integer("examples_per_hour", d.examples_per_hour, 0),
        retention_days=section.number("retention_days", d.retention_days, 0.001),
    )
    section.finish()
    return settings


def _redact(section: Section) -> RedactSettings:
    d = RedactSettings()
    extra_headers = {h.lower() for h in section.strings("headers")}
    extra_params = set(section.strings("query_params"))
    settings = RedactSettings(
        headers=d.headers | extra_headers,
        query_params=d.query_params | extra_params,
        body_paths=section.strings("body_paths"),
    )
    for index, text in enumerate(settings.body_paths):
        try:
            parse_path(text)
        except ValueError as exc:
            section.error(f"body_paths[{index}]", str(exc))
    section.finish()
    return settings


def _default_compare(section: Section) -> CompareSpec:
    extra = frozenset(h.lower() for h in section.strings("ignore_headers"))
    spec = CompareSpec(ignore_headers=DEFAULT_IGNORED_HEADERS | extra)
    section.finish()
    return spec


def _routes(
    root: Section, default_compare: CompareSpec, cutover: CutoverSettings, rule_sets: RuleSets
) -> tuple[RouteRule, ...]:
    routes: list[RouteRule] = []
    names: set[str] = set()
    for section in root.tables("routes"):
        route = _route(section, default_compare, cutover, rule_sets)
        if route is None:
            continue
        if route.name in names:
            section.error("name", f"duplicate route name {route.name!r}")
        names.add(route.name)
        routes.append(route)
    return tuple(routes)


def _route(
    section: Section, default_compare: CompareSpec, cutover: CutoverSettings, rule_sets: RuleSets
) -> RouteRule | None:
    name = section.string("name")
    if not name:
        section.error("name", "required (a short unique name, used in reports and the admin API)")
    methods = _methods(section)
    path = section.string("path")
    _check_pattern(section, path)
    mode = section.parsed("mode", Mode.SHADOW, _parse_mode)
    sample_rate = section.number("sample_rate", 1.0, 0.0, 1.0) if section.has("sample_rate") else None
    extra_headers = frozenset(h.lower() for h in section.strings("ignore_headers"))
    normalizers = parse_route_pipeline(section, rule_sets)
    rule = RouteRule(
        name=name,
        methods=methods,
        path=path,
        mode=mode,
        mirror_writes=section.boolean("mirror_writes", False),
        sample_rate=sample_rate,
        compare=replace(
            default_compare,
            ignore_headers=default_compare.ignore_headers | extra_headers,
            normalizers=normalizers,
        ),
        cutover=parse_cutover(section.section("cutover"), cutover) if section.has("cutover") else None,
        **parse_route_cutover(section),
    )
    section.finish()
    return rule if name else None


def _methods(section: Section) -> frozenset[str]:
    raw = section.strings("method") + section.strings("methods")
    methods = frozenset(m.upper() for m in raw) or frozenset({"GET"})
    for method in sorted(methods - HTTP_METHODS - {"*"}):
        section.error("methods", f"unknown HTTP method {method!r}")
    return methods


def _check_pattern(section: Section, path: str) -> None:
    if not path.startswith("/"):
        section.error("path", f"expected a path pattern starting with '/', got {path!r}")
        return
    for segment in path.split("/"):
        if ("{" in segment or "}" in segment) and not _PARAM.match(segment):
            section.error("path", f"a parameter must be a whole segment like {{id}}, got {segment!r}")


def _parse_mode(text: str) -> Mode:
    try:
        return Mode(text)
    except ValueError:
        raise ValueError(f"expected one of {', '.join(m.value for m in Mode)}, got {text!r}") from None
