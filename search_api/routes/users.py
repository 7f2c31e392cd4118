"""Users and restricted classes (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from schemas.access import (
    PasswordReset,
    Restriction,
    RestrictionSet,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)
from search_api.deps import AccessDep, CanManageSettings, CanManageUsers
from search_api.errors import ERROR_RESPONSES

router = APIRouter(tags=["access"])


@router.get(
    "/api/v1/users", response_model=list[UserPublic], responses=ERROR_RESPONSES, summary="Users"
)
def list_users(access: AccessDep, caller: CanManageUsers) -> list[UserPublic]:
    return [UserPublic.from_record(u) for u in access.list_users(caller)]


@router.post(
    "/api/v1/users",
    response_model=UserCreated,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create a user (with a one-time password, shown once)",
)
def create_user(body: UserCreate, access: AccessDep, caller: CanManageUsers) -> UserCreated:
    user, password = access.create_user(
        caller,
        body.username,
        roles=body.roles,
        groups=body.groups,
        display_name=body.display_name,
        with_password=body.password,
    )
    return UserCreated(user=UserPublic.from_record(user), one_time_password=password)


@router.get(
    "/api/v1/users/{username}",
    response_model=UserPublic,
    responses=ERROR_RESPONSES,
    summary="One user",
)
def get_user(username: str, access: AccessDep, caller: CanManageUsers) -> UserPublic:
    return UserPublic.from_record(access.get_user(caller, username))


@router.patch(
    "/api/v1/users/{username}",
    response_model=UserPublic,
    responses=ERROR_RESPONSES,
    summary="Change a user's roles or groups, disable or enable them",
)
def update_user(
    username: str, body: UserUpdate, access: AccessDep, caller: CanManageUsers
) -> UserPublic:
    user = access.update_user(
        caller,
        username,
        roles=body.roles,
        groups=body.groups,
        disabled=body.disabled,
        display_name=body.display_name,
    )
    return UserPublic.from_record(user)


@router.post(
    "/api/v1/users/{username}/password",
    response_model=PasswordReset,
    responses=ERROR_RESPONSES,
    summary="Reset a user's password to a new one-time password",
)
def reset_password(username: str, access: AccessDep, caller: CanManageUsers) -> PasswordReset:
    password = access.reset_password(caller, username)
    return PasswordReset(username=username, one_time_password=password)


@router.get(
    "/api/v1/restrictions",
    response_model=list[Restriction],
    responses=ERROR_RESPONSES,
    summary="Restricted classes: classifications visible only to some groups",
)
def list_restrictions(access: AccessDep, caller: CanManageSettings) -> list[Restriction]:
    found = access.list_restrictions(caller)
    return [Restriction(classification=k, groups=sorted(v)) for k, v in sorted(found.items())]


@router.put(
    "/api/v1/restrictions/{classification}",
    response_model=Restriction,
    responses=ERROR_RESPONSES,
    summary="Restrict a classification to groups",
)
def set_restriction(
    classification: str, body: RestrictionSet, access: AccessDep, caller: CanManageSettings
) -> Restriction:
    code, groups = access.set_restriction(caller, classification, body.groups)
    return Restriction(classification=code, groups=list(groups))


@router.delete(
    "/api/v1/restrictions/{classification}",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Lift a restriction",
)
def remove_restriction(
    classification: str, access: AccessDep, caller: CanManageSettings
) -> Response:
    access.remove_restriction(caller, classification)
    return Response(status_code=204)
