"""The one bridge to the comparators: a document and a row, shaped alike, compared by the job's pipeline.

No comparison logic lives here. Both documents are serialized to canonical JSON (documents.to_json) and
handed to `comparators.compare.compare` as two 200 application/json observations, so the reconcile
pipeline is exactly a route's pipeline: same normalizers, same flat Differences, same bytes-equal fast
path when both sides serialize identically (no parsing at all then).
"""

from __future__ import annotations

from typing import Any

from comparators.compare import compare
from comparators.model import Comparison, Observation
from comparators.spec import CompareSpec
from proxy.reconcile.documents import to_json

_HEADERS = (("content-type", "application/json"),)


def observation(document: Any) -> Observation:
    """A document as the body of a JSON response, which is what the comparators compare."""
    return Observation(status=200, headers=_HEADERS, body=to_json(document))


def compare_documents(spec: CompareSpec, source: Any, target: Any) -> Comparison:
    """Compare a source document and a target row (both already in the document's shape) under `spec`."""
    return compare(spec, observation(source), observation(target))
