"""Pydantic schemas of the HTTP API and the CLI's --json output, one family per entity."""

from schemas.contracts import (
    ContractPage,
    ContractPublic,
    ContractText,
    IngestOutcome,
    PagePublic,
    PageText,
)
from schemas.errors import ErrorBody, ErrorEnvelope
from schemas.search import FacetBucket, SearchHit, SearchResponse, SnippetPublic

__all__ = [
    "ContractPage",
    "ContractPublic",
    "ContractText",
    "ErrorBody",
    "ErrorEnvelope",
    "FacetBucket",
    "IngestOutcome",
    "PagePublic",
    "PageText",
    "SearchHit",
    "SearchResponse",
    "SnippetPublic",
]
