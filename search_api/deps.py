"""Every FastAPI dependency alias of the API, in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.settings import Settings
from search_api.auth import runtime_of


def get_settings_dep(request: Request) -> Settings:
    return runtime_of(request).settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


# --- access control: one alias per permission (search_api.auth.Require) -----------------------
from core.roles import Caller, Perm  # noqa: E402
from search_api.auth import Public, Require  # noqa: E402

AnyoneOrCaller = Annotated[Caller | None, Depends(Public())]
PUBLIC = Public()
"""For ``dependencies=[Depends(PUBLIC)]`` on routes anyone may call."""
SignedIn = Annotated[Caller, Depends(Require(Perm.SELF))]
SignedInPendingPassword = Annotated[Caller, Depends(Require(Perm.SELF, allow_password_change=True))]
CanViewContracts = Annotated[Caller, Depends(Require(Perm.CONTRACTS_VIEW))]
CanReadContracts = Annotated[Caller, Depends(Require(Perm.CONTRACTS_READ))]
CanDownload = Annotated[Caller, Depends(Require(Perm.CONTRACTS_DOWNLOAD))]
CanSearch = Annotated[Caller, Depends(Require(Perm.SEARCH))]
CanIngest = Annotated[Caller, Depends(Require(Perm.CONTRACTS_INGEST))]
CanEditContracts = Annotated[Caller, Depends(Require(Perm.CONTRACTS_EDIT))]
CanClassify = Annotated[Caller, Depends(Require(Perm.CONTRACTS_CLASSIFY))]
CanVerify = Annotated[Caller, Depends(Require(Perm.CONTRACTS_VERIFY))]
CanReadAudit = Annotated[Caller, Depends(Require(Perm.AUDIT_READ))]
CanExportAudit = Annotated[Caller, Depends(Require(Perm.AUDIT_EXPORT))]
CanVerifyAudit = Annotated[Caller, Depends(Require(Perm.AUDIT_VERIFY))]
CanManageUsers = Annotated[Caller, Depends(Require(Perm.USERS_MANAGE))]
CanManageSettings = Annotated[Caller, Depends(Require(Perm.SETTINGS_MANAGE))]


# --- the caller-bound facade (services.facade): one alias per permission ------------------------
from search_api.auth import Acts  # noqa: E402
from services.facade import Facade  # noqa: E402

ActsSelf = Annotated[Facade, Depends(Acts(Perm.SELF))]
ActsSelfPendingPassword = Annotated[Facade, Depends(Acts(Perm.SELF, allow_password_change=True))]
ActsViewing = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_VIEW))]
ActsReading = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_READ))]
ActsDownloading = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_DOWNLOAD))]
ActsSearching = Annotated[Facade, Depends(Acts(Perm.SEARCH))]
ActsIngesting = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_INGEST))]
ActsEditing = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_EDIT))]
ActsClassifying = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_CLASSIFY))]
ActsVerifying = Annotated[Facade, Depends(Acts(Perm.CONTRACTS_VERIFY))]
ActsReadingAudit = Annotated[Facade, Depends(Acts(Perm.AUDIT_READ))]
ActsExportingAudit = Annotated[Facade, Depends(Acts(Perm.AUDIT_EXPORT))]
ActsVerifyingAudit = Annotated[Facade, Depends(Acts(Perm.AUDIT_VERIFY))]
ActsManagingUsers = Annotated[Facade, Depends(Acts(Perm.USERS_MANAGE))]
ActsManagingSettings = Annotated[Facade, Depends(Acts(Perm.SETTINGS_MANAGE))]
"""Routes that act through the facade take one of these instead of a ``Can...`` caller."""
