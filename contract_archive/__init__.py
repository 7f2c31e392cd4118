"""The contract archive: settings, errors, the Archive facade and the command line."""

__version__ = "0.1.0"
