"""The records database: the RecordStore Protocol, the SQLAlchemy models, the SQL store.

Importing this package loads nothing else, so that a command that never opens the database does
not pay for SQLAlchemy's ORM. ``storage.records.sql`` imports every module that defines tables,
so that ``Base.metadata`` (used by the migrations and their check in tests) holds all of them
once the SQL store is loaded.
"""
