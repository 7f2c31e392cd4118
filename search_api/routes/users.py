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
from search_api.deps import ActsManagingSettings, ActsManagingUsers
from search_api.errors import ERROR_RESPONSES

router = APIRouter(tags=["access"])


@router.get(
    "/api/v1/users", response_model=list[UserPublic], responses=ERROR_RESPONSES, summary="Users"
)
def list_users(f: ActsManagingUsers) -> list[UserPublic]:
    return f.users.list()


@router.post(
    "/api/v1/users",
    response_model=UserCreated,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create a user (with a one-time password, shown once)",
)
def create_user(body: UserCreate, f: ActsManagingUsers) -> UserCreated:
    return f.users.create(
        body.username,
        roles=body.roles,
        groups=body.groups,
        display_name=body.display_name,
        with_password=body.password,
    )


@router.get(
    "/api/v1/users/{username}",
    response_model=UserPublic,
    responses=ERROR_RESPONSES,
    summary="One user",
)
def get_user(username: str, f: ActsManagingUsers) -> UserPublic:
    return f.users.get(username)


@router.patch(
    "/api/v1/users/{username}",
    response_model=UserPublic,
    responses=ERROR_RESPONSES,
    summary="Change a user's roles or groups, disable or enable them",
)
def update_user(username: str, body: UserUpdate, f: ActsManagingUsers) -> UserPublic:
    return f.users.update(
        username,
        roles=body.roles,
        groups=body.groups,
        disabled=body.disabled,
        display_name=body.display_name,
    )


@router.post(
    "/api/v1/users/{username}/password",
    response_model=PasswordReset,
    responses=ERROR_RESPONSES,
    summary="Reset a user's password to a new one-time password",
)
def reset_password(username: str, f: ActsManagingUsers) -> PasswordReset:
    return f.users.reset_password(username)


@router.get(
    "/api/v1/restrictions",
    response_model=list[Restriction],
    responses=ERROR_RESPONSES,
    summary="Restricted classes: classifications visible only to some groups",
)
def list_restrictions(f: ActsManagingSettings) -> list[Restriction]:
    return f.restrictions.list()


@router.put(
    "/api/v1/restrictions/{classification}",
    response_model=Restriction,
    responses=ERROR_RESPONSES,
    summary="Restrict a classification to groups",
)
def set_restriction(
    classification: str, body: RestrictionSet, f: ActsManagingSettings
) -> Restriction:
    return f.restrictions.set(classification, body.groups)


@router.delete(
    "/api/v1/restrictions/{classification}",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Lift a restriction",
)
def remove_restriction(classification: str, f: ActsManagingSettings) -> Response:
    f.restrictions.remove(classification)
    return Response(status_code=204)
