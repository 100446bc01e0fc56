"""Throughput benchmark: nginx serves static JSON, wrk measures direct vs through shadow-proxy."""
