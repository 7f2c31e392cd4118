"""The records database: the RecordStore Protocol, the SQLAlchemy models, the SQL store.

Every module that defines tables is imported here, so that ``Base.metadata`` (used by the
migrations and their check in tests) always holds all of them.
"""

from storage.records import (
    contract_models,  # noqa: F401
    models,  # noqa: F401
    ocr_models,  # noqa: F401
    seal_models,  # noqa: F401
)
