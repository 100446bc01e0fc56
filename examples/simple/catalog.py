"""The sample catalog both services serve: a fixed set of items, identical on each side, no randomness."""

from __future__ import annotations

from dataclasses import dataclass

ITEM_COUNT = 40
_WORDS = ("anvil", "bolt", "crate", "drill", "easel", "funnel", "gasket", "hinge", "ink", "jack")
_TAGS = ("steel", "wood", "outdoor", "kitchen", "garage", "office")
CATEGORIES: tuple[str, ...] = ("hardware", "tools", "supplies", "storage")


@dataclass(frozen=True, slots=True)
class Item:
    """One catalog entry as stored; each service renders it into JSON its own way."""

    id: int
    name: str
    price: float
    stock: int
    tags: tuple[str, ...]
    sku: str
    category: str


def _make_item(number: int) -> Item:
    word = _WORDS[(number - 1) % len(_WORDS)]
    return Item(
        id=number,
        name=f"{word.title()} {number}",
        price=round(2.49 + number * 1.37, 2),
        stock=(number * 7) % 23,
        tags=(_TAGS[number % len(_TAGS)], _TAGS[(number * 5 + 1) % len(_TAGS)]),
        sku=f"SKU-{number:05d}",
        category=CATEGORIES[number % len(CATEGORIES)],
    )


ITEMS: tuple[Item, ...] = tuple(_make_item(n) for n in range(1, ITEM_COUNT + 1))
_BY_ID: dict[int, Item] = {item.id: item for item in ITEMS}


def find_item(item_id: int) -> Item | None:
    return _BY_ID.get(item_id)


def search_items(query: str) -> list[Item]:
    """Items whose name, tags or category contain the query (case-insensitive), in id order."""
    needle = query.strip().lower()
    if not needle:
        return []
    return [item for item in ITEMS if needle in _haystack(item)]


def _haystack(item: Item) -> str:
    return " ".join((item.name.lower(), item.category, *item.tags))
