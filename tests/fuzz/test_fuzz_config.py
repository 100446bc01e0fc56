"""Fuzz the config loader (hypothesis, bounded and derandomized): any file, any mutation of the shipped
examples, any value in any key gives a Config or a ConfigError naming keys, never another exception."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import FUZZ, FUZZ_FEW, toml_values
from hypothesis import given
from hypothesis import strategies as st

from config.loader import ConfigError, load_config, parse_config
from config.model import Config

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "config" / "examples").glob("*.toml"))
TEXTS = {path.name: path.read_text(encoding="utf-8") for path in EXAMPLES}
DOCUMENTS = {name: tomllib.loads(text) for name, text in TEXTS.items()}
TOML_SNIPPETS = [
    "[upstreams]\nlegacy = ",
    '"http://l"\n',
    "[[routes]]\n",
    'name = "r"\npath = "/x/{id}"\n',
    "[[routes.compare]]\n",
    'op = "unordered"\n',
    "[server]\nlisten = ",
    '"0.0.0.0:99999"\n',
    "= = =\n",
    "[shadow]\nsample_rate = 2\n",
    "\x00",
    '"""unterminated',
    "[[reconcile]]\n",
    "a.b.c = 1\n",
]


def outcome(load: Any) -> Config | ConfigError:
    try:
        return load()  # type: ignore[no-any-return]
    except ConfigError as exc:
        assert exc.errors, "a ConfigError names at least one problem"
        assert all(isinstance(e, str) and ": " in e for e in exc.errors), exc.errors
        return exc


@FUZZ
@given(parts=st.lists(st.sampled_from(TOML_SNIPPETS) | st.text(max_size=20), max_size=12))
def test_any_file_loads_or_is_refused_with_keyed_errors(parts: list[str], tmp_path_factory: Any) -> None:
    file = tmp_path_factory.mktemp("fuzz") / "proxy.toml"
    file.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    outcome(lambda: load_config(file))


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_are_refused(data: bytes, tmp_path_factory: Any) -> None:
    file = tmp_path_factory.mktemp("fuzz") / "proxy.toml"
    file.write_bytes(data)
    outcome(lambda: load_config(file))


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a parsed TOML document (into tables and arrays of tables)."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((*prefix, key))
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            if isinstance(value, dict):
                found += _paths(value, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replace(document[head], rest, value)  # type: ignore[index,call-overload]
    return copy


@pytest.mark.parametrize("example", list(DOCUMENTS))
@FUZZ_FEW
@given(data=st.data())
def test_any_value_in_any_key_of_the_examples_is_accepted_or_named(example: str, data: st.DataObject) -> None:
    document = DOCUMENTS[example]
    mutated = document
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(mutated) or [("surprise",)]))
        mutated = _replace(mutated, path, data.draw(toml_values))
    result = outcome(lambda: parse_config(mutated, source=example))
    if isinstance(result, ConfigError):
        assert all(e.split(":")[0] for e in result.errors)


@pytest.mark.parametrize("example", list(TEXTS))
@FUZZ_FEW
@given(data=st.data())
def test_any_lines_cut_from_the_examples_load_or_are_refused(
    example: str, data: st.DataObject, tmp_path_factory: Any
) -> None:
    lines = TEXTS[example].splitlines(keepends=True)
    kept = [line for line in lines if data.draw(st.integers(0, 9), label="keep") > 0]
    file = tmp_path_factory.mktemp("fuzz") / "proxy.toml"
    file.write_text("".join(kept), encoding="utf-8")
    outcome(lambda: load_config(file))
