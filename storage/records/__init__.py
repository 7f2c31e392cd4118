"""The records database: the RecordStore Protocol, the SQLAlchemy models, the SQL store.

Every module that defines tables is imported here, so that ``Base.metadata`` (used by the
migrations and their check in tests) always holds all of them.
"""

from storage.records import access_models, contract_models, models, ocr_models, seal_models  # noqa: F401
