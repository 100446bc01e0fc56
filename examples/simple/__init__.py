"""Two small sample upstreams, legacy and candidate: one JSON catalog API with deliberate differences."""
