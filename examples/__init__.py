"""Runnable examples that demonstrate shadow-proxy on realistic upstreams (see examples/engagement)."""
