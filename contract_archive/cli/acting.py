"""Who the command line acts as (ARCHIVE_USER, default the first admin), for every command.

Not a command module: the helpers the command modules share.
"""

from __future__ import annotations

from contract_archive.access.roles import Caller
from contract_archive.access.service import AccessControl, print_first_credentials
from contract_archive.archive import Archive


def acting(archive: Archive) -> tuple[AccessControl, Caller]:
    """The access control of ``archive`` and the command line's caller. On the first start
    this makes the first admin and prints its one-time credentials (to the terminal only)."""
    access = AccessControl.for_archive(archive)
    return access, access.cli_caller(announce=print_first_credentials)


def first_start(archive: Archive) -> None:
    created = AccessControl.for_archive(archive).ensure_first_admin()
    if created is not None:
        print_first_credentials(created)
