"""Text rules: strings (trim, case, Unicode, regex, sorted tokens, blanks dropped) and URLs by parts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from comparators.normalizers.base import Notes, same, structured
from comparators.normalizers.values import ValueRule
from comparators.pair import Side
from comparators.paths import ANY_INDEX, MISSING, Path


@dataclass(frozen=True, kw_only=True)
class Strings(ValueRule):
    """Trim, collapse spaces, case-fold, NFC-normalize and regex-replace strings, in that order.

    With `split`, a string is a list of tokens: each token goes through those steps, then the tokens are
    sorted (`sort`) and joined again. With `drop_empty`, a string left empty is removed (MISSING): dropped
    from its array, deleted from its object.
    """

    op: ClassVar[str] = "strings"
    trim: bool = False
    collapse_spaces: bool = False
    casefold: bool = False
    nfc: bool = False
    pattern: re.Pattern[str] | None = None
    replacement: str = ""
    split: str = ""  # the token separator, e.g. ", "
    sort: bool = False
    drop_empty: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sort and not self.split:
            raise ValueError("sort needs split (the separator of the tokens to sort)")

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = self._tokens(value) if self.split else self._text(value)
        if self.drop_empty and not text:
            return MISSING
        return value if text == value else text

    def _text(self, value: str) -> str:
        text = value.strip() if self.trim else value
        if self.collapse_spaces:
            text = " ".join(text.split())
        if self.casefold:
            text = text.casefold()
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        if self.pattern is not None:
            text = self.pattern.sub(self.replacement, text)
        return text

    def _tokens(self, value: str) -> str:
        # Token by token, so that splitting the joined result again yields the same tokens (idempotent).
        tokens = [self._text(token) for token in value.split(self.split)]
        if self.sort:
            tokens.sort()
        return self.split.join(tokens)

    def _apply_json(self, path: Path, legacy: Side, candidate: Side, notes: Notes) -> tuple[Side, Side]:
        new_legacy, new_candidate = super()._apply_json(path, legacy, candidate, notes)
        dropping = self.drop_empty and path.segments[-1:] == (ANY_INDEX,)
        if dropping and (new_legacy is not legacy or new_candidate is not candidate):
            self._note_arrays_made_equal(path, (legacy, candidate), (new_legacy, new_candidate), notes)
        return new_legacy, new_candidate

    def _note_arrays_made_equal(
        self, path: Path, before: tuple[Side, Side], after: tuple[Side, Side], notes: Notes
    ) -> None:
        """A dropped entry shifts the ones after it, so the check location by location misses what the drop
        hid: judge the arrays whole, those that differed before and agree now."""
        arrays = Path(path.text.removesuffix("[*]"), "json", path.segments[:-1])
        was_left, was_right = (_grouped(arrays, side) for side in before)
        now_left, now_right = (_grouped(arrays, side) for side in after)
        for where in sorted(now_left.keys() | now_right.keys()):
            agree_now = same(now_left.get(where, []), now_right.get(where, []))
            if agree_now and not same(was_left.get(where, []), was_right.get(where, [])):
                hidden = self.ignored(f"{where}[*]")
                if hidden not in notes.ignored:
                    notes.ignored.append(hidden)


def _grouped(path: Path, side: Side) -> dict[str, list[Any]]:
    """The values `path` selects in one side's document, by collapsed path."""
    found: dict[str, list[Any]] = {}
    for where, value in path.find(structured(side)):
        found.setdefault(where, []).append(value)
    return found


URL_PARTS = ("scheme", "host", "path", "query", "fragment")


@dataclass(frozen=True, kw_only=True)
class Urls(ValueRule):
    """Compare URLs by selected parts only (default: the path), e.g. to forget a deployment's host."""

    op: ClassVar[str] = "urls"
    parts: frozenset[str] = frozenset({"path"})
    query_keys: tuple[str, ...] = ()  # when set, only these query keys are compared (sorted)

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(self.parts - set(URL_PARTS))
        if unknown:
            raise ValueError(f"unknown URL part(s) {', '.join(unknown)}; known: {', '.join(URL_PARTS)}")

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            url = urlsplit(value)
        except ValueError:
            return value
        query = ""
        if "query" in self.parts or self.query_keys:
            pairs = parse_qsl(url.query, keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if not self.query_keys or k in self.query_keys]
            query = urlencode(sorted(kept))
        rebuilt = urlunsplit(
            (
                url.scheme if "scheme" in self.parts else "",
                url.netloc if "host" in self.parts else "",
                url.path if "path" in self.parts else "",
                query,
                url.fragment if "fragment" in self.parts else "",
            )
        )
        return value if rebuilt == value else rebuilt
