"""A table schema whose values are typed objects in memory and JSON in the changelog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import faust
from faust.types import AppT, CodecArg
from faust.types.tuples import Message


class TypedJsonSchema(faust.Schema):
    """`{shop}/{id}` byte keys and JSON values, decoded into objects when read from the changelog.

    Faust's JSON codec is orjson, which writes dataclasses as objects, so writing needs nothing;
    `decode` turns a value read back (recovery, standby replicas) into the object the table holds.
    The table needs key_type=bytes as well (see `Context.schema`).
    """

    def __init__(self, decode: Callable[[Mapping[str, Any]], object]) -> None:
        super().__init__(key_type=bytes, key_serializer="raw", value_serializer="json")
        self._decode = decode

    def loads_value(
        self,
        app: AppT,
        message: Message,
        *,
        loads: Callable[..., Any] | None = None,
        serializer: CodecArg | None = None,
    ) -> Any:
        value = super().loads_value(app, message, loads=loads, serializer=serializer)
        return None if value is None else self._decode(value)

    def typed(self, value: Any) -> Any:
        """A stored value as the table holds it in memory (a store on disk hands out JSON)."""
        return self._decode(value)
