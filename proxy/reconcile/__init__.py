"""Reconcile: prove a MongoDB collection and a PostgreSQL query hold the same data, key by key."""

from proxy.reconcile.engine import reconcile, reconcile_job
from proxy.reconcile.errors import ReconcileError
from proxy.reconcile.result import JobResult, ReconcileReport, ResultSink, Status

__all__ = [
    "JobResult",
    "ReconcileError",
    "ReconcileReport",
    "ResultSink",
    "Status",
    "reconcile",
    "reconcile_job",
]
