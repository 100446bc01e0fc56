"""Coverage-guided fuzzing with atheris: optional, not in CI (CI runs bounded hypothesis tests, tests/fuzz).

    .venv/bin/pip install atheris
    .venv/bin/python -m bench.fuzz compare -max_total_time=300     # compare() on any two wire answers
    .venv/bin/python -m bench.fuzz config -max_total_time=300      # the TOML loader on any file
    .venv/bin/python -m bench.fuzz rules -max_total_time=300       # any rule table on any answers

Arguments after the target go to libFuzzer (-max_total_time, -runs, -jobs, a corpus directory...). A crash
(any exception but the documented ConfigError) is written by libFuzzer as crash-<sha1> in the working
directory; replay it with `.venv/bin/python -m bench.fuzz compare crash-<sha1>`. Run from the repository root.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports():
    from comparators.compare import compare
    from comparators.model import Observation, TransportError
    from config.loader import ConfigError, load_config, parse_config

CONTENT_TYPES = [
    "application/json",
    "application/x-ndjson",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
]
ENCODINGS = ["", "gzip", "deflate", "br", "gzip, br", "bogus"]
PATHS = [
    "$.a",
    "$..a",
    "$.items[*].id",
    "$..*",
    "$.a.*",
    "status",
    "body",
    "header:x-a",
    "id",
    "$[",
    "$..",
    "",
]
RULE_KEYS = [
    "path",
    "paths",
    "key",
    "headers",
    "report_order",
    "descending",
    "absolute",
    "relative",
    "precision",
    "forms",
    "map",
    "case_insensitive",
    "classes",
    "mapping",
    "trim",
    "casefold",
    "nfc",
    "pattern",
    "replacement",
    "split",
    "sort",
    "drop_empty",
    "parts",
    "query_keys",
    "min_status",
    "as",
]
OPS = [
    "ignore",
    "unordered",
    "sorted_by",
    "tolerance",
    "timestamps",
    "empty_equivalent",
    "value_map",
    "status_equivalent",
    "ids",
    "strings",
    "urls",
    "errors",
    "parse_as",
]


def observation(data: atheris.FuzzedDataProvider) -> Observation:
    if data.ConsumeIntInRange(0, 15) == 0:
        return Observation.transport_error(data.PickValueInList(list(TransportError)), "fuzz")
    headers = [("Content-Type", data.PickValueInList(CONTENT_TYPES))]
    encoding = data.PickValueInList(ENCODINGS)
    if encoding:
        headers.append(("Content-Encoding", encoding))
    body = data.ConsumeBytes(data.ConsumeIntInRange(0, 4096))
    return Observation(data.ConsumeIntInRange(100, 599), tuple(headers), body)


def fuzz_compare(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    compare(_spec(), observation(data), observation(data))


def fuzz_rules(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    table: dict[str, Any] = {"op": data.PickValueInList(OPS)}
    for _ in range(data.ConsumeIntInRange(0, 5)):
        table[data.PickValueInList(RULE_KEYS)] = value(data)
    try:
        config = parse_config(
            {"upstreams": {"legacy": "http://l"}, "routes": [{"name": "r", "path": "/", "compare": [table]}]}
        )
    except ConfigError:
        return
    compare(config.routes[0].compare, observation(data), observation(data))


def value(data: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    """A TOML value: mostly paths and small scalars, sometimes arrays and tables of them."""
    kind = data.ConsumeIntInRange(0, 7 if depth < 2 else 4)
    if kind == 0:
        return data.PickValueInList(PATHS)
    if kind == 1:
        return data.ConsumeUnicodeNoSurrogates(data.ConsumeIntInRange(0, 12))
    if kind == 2:
        return data.ConsumeIntInRange(-1000, 1000)
    if kind == 3:
        return data.ConsumeRegularFloat()
    if kind == 4:
        return data.ConsumeBool()
    if kind in (5, 6):
        return [value(data, depth + 1) for _ in range(data.ConsumeIntInRange(0, 3))]
    return {
        data.ConsumeUnicodeNoSurrogates(4): value(data, depth + 1)
        for _ in range(data.ConsumeIntInRange(0, 3))
    }


def fuzz_config(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "proxy.toml"
        file.write_bytes(raw)
        with contextlib.suppress(ConfigError):
            load_config(file)


_SPEC: list[Any] = []


def _spec() -> Any:
    if not _SPEC:
        _SPEC.append(parse_config({"upstreams": {"legacy": "http://l"}}).default_compare)
    return _SPEC[0]


TARGETS: dict[str, Callable[[bytes], None]] = {
    "compare": fuzz_compare,
    "rules": fuzz_rules,
    "config": fuzz_config,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m bench.fuzz {{{','.join(TARGETS)}}} [libFuzzer arguments]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
