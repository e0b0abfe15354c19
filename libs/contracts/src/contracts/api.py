"""Base classes for request/reply models: camelCase on the wire, strict about input."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A request or reply body: camelCase JSON, snake_case Python, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


class ApiReply(BaseModel):
    """A reply body: camelCase JSON; readers ignore fields added later."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Empty(ApiModel):
    """A request or reply with no fields."""


class Ok(ApiReply):
    """A reply that only says the command succeeded."""

    ok: bool = True


T = TypeVar("T")


class PageQuery(ApiModel):
    """Pagination of a list query (1-based pages)."""

    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=200)


class Page(ApiReply, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    page_size: int
