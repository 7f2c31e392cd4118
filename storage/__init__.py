"""Persistence: the object store, the records database and the search index.

Each kind is a Protocol (``objects.base``, ``records.base``, ``index.base``) with its
implementations side by side, chosen by a setting through the registries in ``registry``.
"""
