"""The command line (contract_archive.cli)."""

from core import __version__

__all__ = ["__version__"]
