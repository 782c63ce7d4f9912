"""Reading JSON that may be hostile, in bounded memory and time.

``json.loads`` then ``Model.model_validate`` is unbounded twice over: the
parse tree of ``[[],[],...]`` takes twenty times the file's size, and
pydantic builds every validation error before one can be shown (600 KB of
``[{}, {}, ...]`` is 1.2 million errors, 1.5 GB). Here:

- :func:`loads` refuses a document with more values than a budget, counted
  in the raw bytes before anything is built, objects with more keys than a
  limit, and duplicate keys (two parsers must never read different values);
- :func:`validate` walks lists and dicts of models one item at a time and
  stops at the first ``limit`` errors; each pydantic call sees one object
  whose own errors are bounded (lists of scalars fail fast, objects are
  bounded in keys).
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[int | str, ...]

MAX_KEYS = 1024


class DocumentError(Exception):
    """The document is not one a bounded reader accepts (one sentence)."""


class Problems(Exception):  # noqa: N818 - a collection, raised as one
    """The first validation problems, in document order; ``complete`` is
    False when validation stopped at the limit."""

    def __init__(self, problems: list[tuple[Loc, str]], *, complete: bool) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.complete = complete


def count_values(raw: bytes) -> int:
    """An upper bound on the number of JSON values in ``raw`` (each value
    but the first is preceded by a comma or opens a container), counted at
    C speed; separators inside strings make it larger, never smaller."""
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise DocumentError(f"an object has more than {MAX_KEYS} keys")
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DocumentError(f"an object has the key {key!r} twice")
            seen.add(key)
    return out


def loads(raw: bytes, *, max_values: int) -> Any:
    """Parse ``raw`` as JSON within the bounds above; :class:`DocumentError`
    with one sentence for anything else."""
    values = count_values(raw)
    if values > max_values:
        raise DocumentError(f"holds about {values} JSON values, more than {max_values}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise DocumentError("nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of 5000 digits
        raise DocumentError(f"not a usable JSON document: {exc}") from None


def format_loc(loc: tuple[int | str, ...]) -> str:
    """('targets', 3, 'triple') -> 'targets[3].triple'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# --- validation -----------------------------------------------------------------

_Plan = tuple[tuple[str, Literal["list", "dict", "one", "scalars"], Any], ...]


class _Full(Exception):  # noqa: N818 - control flow, never escapes
    pass


class _Collector:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.problems: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append((loc, message))
        if len(self.problems) >= self.limit:
            raise _Full

    def add_error(self, prefix: Loc, exc: ValidationError) -> None:
        # One object's errors are bounded (see the module doc), so building
        # them all is bounded too.
        for err in exc.errors(include_url=False):
            self.add(prefix + tuple(err["loc"]), str(err["msg"]))


def validate(model: type[M], data: Any, *, limit: int = 20) -> M:
    """``model`` from ``data`` (strict: no coercion), or :class:`Problems`
    with at most ``limit`` problems."""
    collector = _Collector(limit)
    try:
        result = _model(model, data, (), collector)
    except _Full:
        raise Problems(collector.problems, complete=False) from None
    if result is None:
        raise Problems(collector.problems, complete=True)
    return result


def _model(model: type[M], data: Any, loc: Loc, out: _Collector) -> M | None:
    if isinstance(data, dict):
        data = dict(data)
        ok = True
        for key, how, sub in _plan(model):
            if key in data:
                value = _field(how, sub, data[key], (*loc, key), out)
                if value is _FAILED:
                    ok = False
                else:
                    data[key] = value
        if not ok:
            return None
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        out.add_error(loc, exc)
        return None


_FAILED: Any = object()


def _field(how: str, sub: Any, value: Any, loc: Loc, out: _Collector) -> Any:
    """Validate the items of one container field; the container itself
    (its type, its presence) is left to the parent's validation."""
    if how == "one":
        if not isinstance(value, dict):
            return value
        result = _model(sub, value, loc, out)
        return _FAILED if result is None else result
    if how == "scalars":
        if not isinstance(value, list):
            return value
        try:
            return _scalars(sub).validate_python(value, strict=True)
        except ValidationError as exc:
            out.add_error(loc, exc)
            return _FAILED
    items: Iterator[tuple[int | str, Any]]
    if how == "list" and isinstance(value, list):
        try:
            # The usual case in one call: a valid list. It stops at the
            # first bad item, whose own errors are bounded; only then is the
            # list walked item by item to report up to the limit.
            return _models(sub).validate_python(value, strict=True)
        except ValidationError:
            pass
        items = enumerate(value)
    elif how == "dict" and isinstance(value, dict):
        items = iter(value.items())
    else:
        return value
    done: list[tuple[int | str, BaseModel]] = []
    ok = True
    for key, item in items:
        result = _model(sub, item, (*loc, key), out)
        if result is None:
            ok = False
        elif ok:
            done.append((key, result))
    if not ok:
        return _FAILED
    return [r for _, r in done] if how == "list" else dict(done)


@functools.cache
def _models(item: Any) -> TypeAdapter[Any]:
    return TypeAdapter(Annotated[list[item], Field(fail_fast=True)])


@functools.cache
def _scalars(item: Any) -> TypeAdapter[Any]:
    return TypeAdapter(Annotated[list[item], Field(fail_fast=True)])


@functools.cache
def _plan(model: type[BaseModel]) -> _Plan:
    """The container fields of ``model`` that are validated item by item."""
    plan: list[tuple[str, Literal["list", "dict", "one", "scalars"], Any]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        for arg in _union_args(field.annotation):
            origin, args = typing.get_origin(arg), typing.get_args(arg)
            if _is_model(arg):
                plan.append((key, "one", arg))
            elif origin is list and args and _is_model(args[0]):
                plan.append((key, "list", args[0]))
            elif origin is list and args:
                plan.append((key, "scalars", args[0]))
            elif origin is dict and len(args) == 2 and _is_model(args[1]):
                plan.append((key, "dict", args[1]))
            else:
                continue
            break
    return tuple(plan)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_args(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) is Annotated:
        return _union_args(typing.get_args(tp)[0])
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)
