"""The one error envelope every API error uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. `invalid_query`.")
    message: str = Field(description="What went wrong, written for the user.")
    hint: str | None = Field(None, description="What to do about it, when there is something.")
    details: dict[str, Any] | None = Field(None, description="Structured extra information.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody
