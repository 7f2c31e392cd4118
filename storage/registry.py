"""Build each store from the settings: one plain function per kind, keyed by a setting."""

from __future__ import annotations

from contract_archive.errors import ConfigurationError
from contract_archive.settings import Settings
from storage.index.base import SearchIndex
from storage.objects.base import ObjectStore
from storage.records.base import RecordStore


def make_object_store(settings: Settings) -> ObjectStore:
    if settings.object_store == "local":
        from storage.objects.local import LocalObjectStore

        return LocalObjectStore(settings.objects_dir)
    raise ConfigurationError(f"unknown ARCHIVE_OBJECT_STORE {settings.object_store!r}")


def make_record_store(settings: Settings) -> RecordStore:
    from storage.records.sql import SqlRecordStore

    return SqlRecordStore(settings.effective_database_url)


def make_index(settings: Settings) -> SearchIndex:
    if settings.index_backend == "tantivy":
        from storage.index.tantivy_index import TantivyIndex

        return TantivyIndex(settings.index_dir)
    raise ConfigurationError(f"unknown ARCHIVE_INDEX_BACKEND {settings.index_backend!r}")
