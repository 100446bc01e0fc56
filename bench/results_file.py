"""bench/RESULTS.md is shared by every benchmark: each one rewrites only its own marked section."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = (
    "# shadow-proxy benchmark results\n\n"
    "Each section is written by the benchmark it names (its command is in the section). The machine is a\n"
    "2-core VM shared by the load generator, the upstreams and the proxy: read medians and ratios measured\n"
    "side by side in one run, not absolute numbers.\n"
)


def update_section(path: Path, name: str, markdown: str) -> None:
    """Replace (or append) the section `name` of the results file, leaving every other section as it is."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if not text.startswith("# "):
        text = HEADER + "\n" + text
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")
