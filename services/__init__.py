"""The services: what the archive does, above storage, signing, ingest and schemas.

Front ends (the CLI, the HTTP API, the web pages) reach them only through services.facade."""
