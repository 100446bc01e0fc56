"""The README's configuration examples are valid configurations: the docs cannot drift from the loader."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from config import ConfigError, parse_config

README = Path(__file__).resolve().parents[2] / "README.md"
PREAMBLE = '[upstreams]\nlegacy = "http://127.0.0.1:8001"\ncandidate = "http://127.0.0.1:8002"\n'


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def toml_blocks(title: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", section(title), re.DOTALL)


def as_config(block: str) -> dict[str, object]:
    """A rule example becomes one route's pipeline; a complete example is taken as it is."""
    if "[upstreams]" in block:
        return tomllib.loads(block)
    if "[[routes]]" not in block and "[[routes.compare]]" in block:
        block = block.replace(
            "[[routes.compare]]", '[[routes]]\nname = "r"\npath = "/r"\n\n[[routes.compare]]', 1
        )
    return tomllib.loads(PREAMBLE + block)


def test_the_configuration_reference_is_one_valid_config() -> None:
    (reference,) = toml_blocks("Configuration reference")
    config = parse_config(tomllib.loads(reference))
    assert config.routes[0].name == "mission-by-id"


RULE_BLOCKS = toml_blocks("Comparison rules")


def test_every_normalizer_has_an_example() -> None:
    ops = {op for block in RULE_BLOCKS for op in re.findall(r'^op = "(\w+)"', block, re.MULTILINE)}
    assert ops >= {
        "ignore", "unordered", "sorted_by", "tolerance", "timestamps", "empty_equivalent", "value_map",
        "status_equivalent", "ids", "strings", "urls", "errors", "parse_as",
    }  # fmt: skip


@pytest.mark.parametrize("block", RULE_BLOCKS, ids=[f"block{i}" for i in range(len(RULE_BLOCKS))])
def test_each_rule_example_loads(block: str) -> None:
    try:
        parse_config(as_config(block))
    except ConfigError as exc:
        # An example may point at a mapping file that only exists in the reader's project.
        assert all("mapping_file" in e for e in exc.errors), exc.errors
