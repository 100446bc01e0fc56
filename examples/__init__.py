"""Sample upstream services and the demos that drive traffic through shadow-proxy (simple/, engagement/)."""
