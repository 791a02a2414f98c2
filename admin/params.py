"""Query parameters and bodies checked by pydantic, refused with a reason per field (422)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, PlainSerializer, PlainValidator, ValidationError
from starlette.responses import JSONResponse

Model = TypeVar("Model", bound=BaseModel)


class BadParameters(Exception):
    """`errors`: parameter (or field path) → what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = dict(errors)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as `{"limit": "Input should be …", "tiers": "0.min_orders: …"}`, the
    first per parameter."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        where, *inside = [str(part) for part in error["loc"]] or ["parameters"]
        errors.setdefault(where, f"{'.'.join(inside)}: {error['msg']}" if inside else error["msg"])
    return errors


def _date_or_time(value: Any) -> date | datetime:
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a date (2026-01-31) or an ISO 8601 time") from None


# A query parameter that is a whole day (`2026-01-31`) or an instant (`2026-01-31T12:00:00Z`).
DateOrTime = Annotated[
    date | datetime, PlainValidator(_date_or_time), PlainSerializer(lambda v: v.isoformat(), return_type=str)
]


def parse(model: type[Model], values: Mapping[str, Any]) -> Model:
    """`values` as `model`; empty strings (a form's blank fields) count as not given."""
    given = {k: v for k, v in values.items() if v != ""}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise BadParameters(field_errors(exc)) from exc


def unprocessable(exc: BadParameters, message: str = "invalid parameters") -> JSONResponse:
    return JSONResponse({"error": message, "errors": exc.errors}, status_code=422)
