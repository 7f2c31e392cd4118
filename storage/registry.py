"""Build each store from the settings: one plain function per kind, keyed by a setting."""

from __future__ import annotations

from core.errors import ConfigurationError
from core.settings import Settings
from storage.index.base import SearchIndex
from storage.objects.base import ObjectStore
from storage.records.base import RecordStore


def make_object_store(settings: Settings) -> ObjectStore:
    if settings.object_store == "local":
        from storage.objects.local import LocalObjectStore

        return LocalObjectStore(settings.objects_dir)
    if settings.object_store == "s3":
        from storage.objects.s3 import S3ObjectStore

        missing = [
            name
            for name, value in (
                ("ARCHIVE_S3_ENDPOINT", settings.s3_endpoint),
                ("ARCHIVE_S3_ACCESS_KEY", settings.s3_access_key),
                ("ARCHIVE_S3_SECRET_KEY", settings.s3_secret_key),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"ARCHIVE_OBJECT_STORE=s3 needs {', '.join(missing)}",
                hint="see 'Running at scale' in the README",
            )
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        return S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            ca_bundle=settings.s3_ca_bundle,
            part_size=settings.s3_part_size_mb * 1024 * 1024,
            spool_dir=settings.tmp_dir,
        )
    raise ConfigurationError(f"unknown ARCHIVE_OBJECT_STORE {settings.object_store!r}")


def make_record_store(settings: Settings) -> RecordStore:
    from storage.records.sql import SqlRecordStore

    return SqlRecordStore(settings.effective_database_url)


def make_index(settings: Settings) -> SearchIndex:
    if settings.index_backend == "tantivy":
        from storage.index.tantivy_index import TantivyIndex

        return TantivyIndex(settings.index_dir)
    if settings.index_backend in ("opensearch", "elasticsearch"):
        from storage.index.engine import make_engine_index

        return make_engine_index(settings)
    raise ConfigurationError(f"unknown ARCHIVE_INDEX_BACKEND {settings.index_backend!r}")
