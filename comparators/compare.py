"""Compare a legacy and a candidate observation under a route's rules into a verdict and flat differences."""

from __future__ import annotations

from comparators.body import Body, BodyKind
from comparators.model import Comparison, Difference, DiffKind, Observation, Verdict
from comparators.pair import Headers, Pair, Side, first_value, grouped_headers, header_map, read_side
from comparators.spec import CompareSpec
from comparators.walk import diff_documents, documents_equal


def compare(spec: CompareSpec, legacy: Observation, candidate: Observation) -> Comparison:
    """Pure and total: transport errors, undecodable or invalid bodies all become data, never exceptions."""
    if legacy.failed:
        return Comparison(Verdict.LEGACY_ERROR)
    if candidate.failed:
        detail = (
            f"{candidate.error}: {candidate.error_detail}" if candidate.error_detail else str(candidate.error)
        )
        return Comparison(Verdict.CANDIDATE_ERROR, (Difference("error", DiffKind.ERROR, None, detail),))
    if _identical(spec, legacy, candidate):
        return Comparison(Verdict.MATCHED)
    pair = normalize(spec, read_pair(spec, legacy, candidate))
    found = [*pair.differences, *diff_sides(pair.legacy, pair.candidate)]
    differences = tuple(sorted({d.key(): d for d in reversed(found)}.values(), key=_order))
    verdict = Verdict.DIVERGED if differences else Verdict.MATCHED
    return Comparison(
        verdict,
        differences,
        ignored=tuple(dict.fromkeys(pair.ignored)),
        rules_hit=pair.rules_hit,
        rules_evaluated=frozenset(n.name for n in spec.normalizers),
    )


def normalize(spec: CompareSpec, pair: Pair) -> Pair:
    """Run the route's normalizers in the order written (`diff` shows this Pair to explain a verdict)."""
    for normalizer in spec.normalizers:
        pair = normalizer(pair)
    return pair


def _identical(spec: CompareSpec, legacy: Observation, candidate: Observation) -> bool:
    """The fast path: same status, same compared headers, same body bytes; nothing is parsed."""
    return (
        legacy.status == candidate.status
        and legacy.body == candidate.body
        and header_map(legacy, spec.ignore_headers) == header_map(candidate, spec.ignore_headers)
    )


def read_pair(spec: CompareSpec, legacy: Observation, candidate: Observation) -> Pair:
    """Both sides decoded and parsed, before any rule (a body sent identically by both is parsed once)."""
    legacy_headers, candidate_headers = grouped_headers(legacy), grouped_headers(candidate)
    legacy_side = read_side(legacy, spec.ignore_headers, grouped=legacy_headers)
    shared = (
        legacy_side.body
        if legacy.body == candidate.body
        and _same_first(legacy_headers, candidate_headers, "content-encoding")
        and _same_first(legacy_headers, candidate_headers, "content-type")
        else None
    )
    return Pair(legacy_side, read_side(candidate, spec.ignore_headers, shared, candidate_headers))


def _same_first(legacy: dict[str, list[str]], candidate: dict[str, list[str]], name: str) -> bool:
    return first_value(legacy, name) == first_value(candidate, name)


def diff_sides(legacy: Side, candidate: Side) -> list[Difference]:
    """Differences between two (normalized) sides: status, headers, then body."""
    differences: list[Difference] = []
    if legacy.status != candidate.status:
        differences.append(Difference("status", DiffKind.STATUS, legacy.status, candidate.status))
    differences.extend(diff_headers(legacy.headers, candidate.headers))
    differences.extend(diff_bodies(legacy.body, candidate.body))
    return differences


def diff_headers(legacy: Headers, candidate: Headers) -> list[Difference]:
    differences = []
    for name in sorted(legacy.keys() | candidate.keys()):
        left, right = legacy.get(name), candidate.get(name)
        if left != right:
            differences.append(Difference(f"header:{name}", DiffKind.HEADER, _joined(left), _joined(right)))
    return differences


def _joined(values: tuple[str, ...] | None) -> str | None:
    if values is None:
        return None
    return values[0] if len(values) == 1 else " | ".join(values)


def diff_bodies(legacy: Body, candidate: Body) -> list[Difference]:
    """Structured kinds are walked only when their documents differ; other kinds compare as a whole."""
    if legacy.kind is candidate.kind and legacy.kind.structured:
        if documents_equal(legacy.content, candidate.content):
            return []
        return diff_documents(legacy.content, candidate.content)
    if (
        legacy.kind is candidate.kind
        and legacy.content == candidate.content
        and legacy.note == candidate.note
    ):
        return []
    kind = DiffKind.VALUE if legacy.kind is candidate.kind else DiffKind.TYPE
    if kind is DiffKind.TYPE and BodyKind.EMPTY in (legacy.kind, candidate.kind):
        kind = DiffKind.MISSING if candidate.kind is BodyKind.EMPTY else DiffKind.EXTRA
    return [Difference("body", kind, _describe(legacy), _describe(candidate))]


def _describe(body: Body) -> str | None:
    if body.kind is BodyKind.EMPTY:
        return None
    return f"{body.kind.value}: {body.describe()}"


_FIRST_PATHS = {"status": 0, "error": 0}


def _order(difference: Difference) -> tuple[int, str, str]:
    rank = _FIRST_PATHS.get(difference.path, 1 if difference.path.startswith("header:") else 2)
    return (rank, difference.path, difference.kind.value)
