"""API Engagement reference migration: a MongoDB legacy and a PostgreSQL candidate serving one seeded dataset.

Modules: `dataset` (deterministic logical data), `load_mongo` / `load_postgres` (the backfill mapping),
`legacy` / `candidate` (the two aiohttp services), `traffic` / `replay` (the request mix and its driver),
`mongo_server` (a throwaway MongoDB-compatible server for tests and the demo).
"""
