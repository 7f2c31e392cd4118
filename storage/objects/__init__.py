"""Object stores: the Protocol and its implementations."""

from storage.objects.base import (
    ObjectInfo,
    ObjectStore,
    PutResult,
    iter_chunks,
    package_key,
    package_prefix,
)
from storage.objects.local import LocalObjectStore

__all__ = [
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectStore",
    "PutResult",
    "iter_chunks",
    "package_key",
    "package_prefix",
]
