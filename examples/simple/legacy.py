"""The legacy sample service: the catalog API as it is today (`python -m examples.simple.legacy --port P`)."""

from __future__ import annotations

from examples.simple.service import Flavor, main

LEGACY = Flavor(name="legacy")

if __name__ == "__main__":
    main(LEGACY)
