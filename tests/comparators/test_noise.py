"""Table-driven tests of the noise decision: learned noise is hidden, real candidate changes are not."""

from __future__ import annotations

import pytest

from comparators.model import Difference, DiffKind
from comparators.noise import NoiseModel, NoiseThresholds, Rate

MODEL = NoiseModel()

CASES = [
    # (baseline differed/compared, candidate differed/compared, noise?, why starts with)
    ("random uuid: always differs in legacy too", (200, 200), (200, 200), True, "candidate rate"),
    ("timestamp differing a third of the time", (60, 200), (70, 200), True, "candidate rate"),
    ("slightly more often, within the margins", (20, 200), (26, 200), True, "candidate rate"),
    ("noisy path, candidate far above", (20, 200), (120, 200), False, "candidate rate"),
    ("stable in legacy, differs in candidate", (0, 200), (3, 200), False, "legacy is stable"),
    ("one coincidence is not noise", (1, 200), (1, 200), False, "legacy is stable"),
    ("too little baseline to know", (5, 10), (5, 10), False, "learning"),
    ("few candidate samples: benefit of the doubt", (20, 200), (2, 4), True, "candidate rate"),
    ("few candidate samples but overwhelming", (4, 200), (10, 10), False, "candidate rate"),
]


@pytest.mark.parametrize(
    ("baseline", "candidate", "noise", "why"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_judge(baseline: tuple[int, int], candidate: tuple[int, int], noise: bool, why: str) -> None:
    judgement = MODEL.judge(Rate(*baseline), Rate(*candidate))
    assert judgement.noise is noise
    assert judgement.why.startswith(why)


WILSON = [
    ((0, 20), 0.0, 0.12),
    ((20, 20), 0.88, 1.0),
    ((50, 100), 0.418, 0.582),
    ((0, 0), 0.0, 1.0),
]


@pytest.mark.parametrize(("counts", "lower", "upper"), WILSON)
def test_wilson_bounds(counts: tuple[int, int], lower: float, upper: float) -> None:
    low, high = Rate(*counts).wilson(0.95)
    assert low == pytest.approx(lower, abs=0.005)
    assert high == pytest.approx(upper, abs=0.005)


def test_thresholds_are_configurable() -> None:
    strict = NoiseModel(NoiseThresholds(relative=0.0, absolute=0.0, min_baseline=5, min_baseline_differed=1))
    assert not strict.is_noise(Rate(2, 10), Rate(90, 100))
    assert strict.is_noise(Rate(2, 10), Rate(20, 100))
    assert not NoiseModel().is_noise(Rate(2, 10), Rate(20, 100))  # the default needs 20 baseline comparisons


@pytest.mark.parametrize(
    "kwargs",
    [{"confidence": 1.0}, {"confidence": 0.2}, {"relative": -1}, {"absolute": 2}, {"min_baseline": 0}],
)
def test_invalid_thresholds(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NoiseThresholds(**kwargs)  # type: ignore[arg-type]


def test_invalid_rate() -> None:
    with pytest.raises(ValueError, match="differed <= compared"):
        Rate(3, 2)


def test_split_separates_noise_from_signal() -> None:
    uuid = Difference("$.requestId", DiffKind.VALUE, "a", "b")
    price = Difference("$.price", DiffKind.VALUE, 1, 2)
    unknown = Difference("$.new", DiffKind.EXTRA, None, 1)
    baselines = {"$.requestId": Rate(100, 100), "$.price": Rate(0, 100)}
    candidates = {"$.requestId": Rate(100, 100), "$.price": Rate(40, 100)}
    signal, noise = MODEL.split((uuid, price, unknown), baselines, candidates)
    assert signal == (price, unknown)
    assert noise == (uuid,)


def test_learned_from_comparisons_random_field_is_noise_and_bug_is_signal() -> None:
    """Legacy twice and the candidate through compare(): a uuid differs always, `total` only by the bug."""
    import random
    import uuid

    import orjson

    from comparators import CompareSpec, Observation, compare

    rng = random.Random(7)

    def answer(total: int) -> Observation:
        body = {"requestId": str(uuid.UUID(int=rng.getrandbits(128))), "total": total, "items": [1, 2]}
        return Observation(200, (("Content-Type", "application/json"),), orjson.dumps(body))

    baseline: dict[str, list[int]] = {}
    candidate: dict[str, list[int]] = {}
    for n in range(60):
        legacy = answer(10)
        for counts, other in ((baseline, answer(10)), (candidate, answer(11 if n % 2 else 10))):
            paths = {d.path for d in compare(CompareSpec(), legacy, other).differences}
            for path in ("$.requestId", "$.total"):
                counts.setdefault(path, [0, 0])
                counts[path][0] += path in paths
                counts[path][1] += 1
    rates = {
        name: {p: Rate(*c) for p, c in counts.items()} for name, counts in (("b", baseline), ("c", candidate))
    }
    assert MODEL.is_noise(rates["b"]["$.requestId"], rates["c"]["$.requestId"])
    assert not MODEL.is_noise(rates["b"]["$.total"], rates["c"]["$.total"])
