"""Sample upstream services and the demo that drives traffic through shadow-proxy."""
