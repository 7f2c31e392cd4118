"""The bottom layer: errors, settings, roles and the domain rules every other layer may use.

Nothing here imports from storage, signing, ingest, schemas, services or a front end."""

__version__ = "0.1.0"
