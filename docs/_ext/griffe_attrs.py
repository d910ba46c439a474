"""A griffe extension for the API reference: give attrs classes their ``__init__``.

attrs writes a class's ``__init__`` when the class is created, so the source that griffe
reads has none. Without it mkdocstrings shows no signature, and the Args table of a
value class (``merge_init_into_class``) has an empty Type column and calls every field
"required", defaults or not. griffe rebuilds ``__init__`` for dataclasses itself; this
does the same for ``@attrs.define`` / ``@attrs.frozen`` / ``@attrs.mutable`` (and the
``attr`` spellings), statically, from the annotated fields: ``default=``, ``factory=``
and ``attrs.Factory(...)`` give the default, ``kw_only`` (on the field or the class)
makes a parameter keyword-only, ``init=False`` leaves a field out, a leading underscore
is dropped from the parameter name as attrs does, and fields of attrs base classes come
first.
"""

from __future__ import annotations

from typing import Any

import griffe

_DECORATORS = {
    f"{module}.{name}"
    for module in ("attrs", "attr")
    for name in ("define", "frozen", "mutable", "s", "attrs", "dataclass")
}
_FIELD = {"attrs.field", "attr.field", "attr.ib", "attr.attrib"}
_FACTORY = {"attrs.Factory", "attr.Factory"}


def _attrs_decorator(cls: griffe.Class) -> griffe.Decorator | None:
    for decorator in cls.decorators:
        value = decorator.value
        path = value.function.canonical_path if isinstance(value, griffe.ExprCall) else None
        if isinstance(value, griffe.Expr) and not isinstance(value, griffe.ExprCall):
            path = value.canonical_path
        if path in _DECORATORS:
            return decorator
    return None


def _arguments(expr: object) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    found: dict[str, Any] = {}
    for argument in expr.arguments:
        if isinstance(argument, griffe.ExprKeyword):
            found[argument.name] = argument.value
    return found


def _is_call_of(expr: object, paths: set[str]) -> bool:
    return isinstance(expr, griffe.ExprCall) and expr.function.canonical_path in paths


def _made_by(factory: object) -> Any:
    """How a factory default reads: ``dict()``, or ``...`` for a computed one (a lambda,
    or an ``attrs.Factory(..., takes_self=True)`` that reads the other fields)."""
    if isinstance(factory, griffe.ExprLambda):
        return "..."
    return griffe.ExprCall(function=factory, arguments=[])  # type: ignore[arg-type]


def _default(value: object) -> tuple[bool, Any]:
    """(whether the field has a default, the default to show)."""
    if _is_call_of(value, _FIELD):
        args = _arguments(value)
        if "default" in args:
            return True, _default(args["default"])[1]
        if "factory" in args:
            return True, _made_by(args["factory"])
        return False, None
    if _is_call_of(value, _FACTORY):
        assert isinstance(value, griffe.ExprCall)
        if str(_arguments(value).get("takes_self")) == "True":
            return True, "..."
        return True, _made_by(value.arguments[0])
    return value is not None, value


def _fields(cls: griffe.Class, kw_only: bool) -> list[griffe.Parameter]:
    parameters: list[griffe.Parameter] = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute:
            continue
        attribute: griffe.Attribute = member  # type: ignore[assignment]
        if attribute.annotation is None or "property" in attribute.labels:
            continue
        if "instance-attribute" not in attribute.labels:
            continue  # a ClassVar
        field = _arguments(attribute.value) if _is_call_of(attribute.value, _FIELD) else {}
        if str(field.get("init")) == "False":
            continue
        has_default, default = _default(attribute.value)
        keyword = kw_only or str(field.get("kw_only")) == "True"
        parameters.append(
            griffe.Parameter(
                str(field.get("alias", "")).strip("'\"") or attribute.name.lstrip("_"),
                annotation=attribute.annotation,
                kind=griffe.ParameterKind.keyword_only
                if keyword
                else griffe.ParameterKind.positional_or_keyword,
                default=default if has_default else None,
                docstring=attribute.docstring,
            )
        )
    return parameters


def _parameters(cls: griffe.Class) -> list[griffe.Parameter]:
    try:
        lineage = [*reversed(cls.mro()), cls]
    except ValueError:
        lineage = [cls]
    collected: dict[str, griffe.Parameter] = {}
    for klass in lineage:
        decorator = _attrs_decorator(klass)
        if decorator is None:
            continue
        kw_only = str(_arguments(decorator.value).get("kw_only")) == "True"
        for parameter in _fields(klass, kw_only):
            collected.pop(parameter.name, None)
            collected[parameter.name] = parameter
    ordered = list(collected.values())
    keyword = griffe.ParameterKind.keyword_only
    return [p for p in ordered if p.kind is not keyword] + [p for p in ordered if p.kind is keyword]


def _apply(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if (
        isinstance(obj, griffe.Class)
        and "__init__" not in obj.members
        and _attrs_decorator(obj) is not None
    ):
        init = griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=obj,
            parameters=griffe.Parameters(
                griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                *_parameters(obj),
            ),
            returns="None",
        )
        obj.set_member("__init__", init)
    for member in list(obj.members.values()):
        if not member.is_alias and (member.is_module or member.is_class):
            _apply(member, seen)  # type: ignore[arg-type]


class AttrsInit(griffe.Extension):
    """Add the ``__init__`` attrs would write to every attrs class of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _apply(pkg, set())
