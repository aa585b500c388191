"""The field-by-field reference of the rule language, generated from the schema.

docs/rules.md embeds this text between markers, and a test fails when the two drift apart, so the documentation
is always the schema's own description (attribute docstrings), never a second copy kept by hand.
"""

from __future__ import annotations

import types
import typing
from typing import Any, cast

from pydantic import BaseModel

from planner.rules.schema import CALENDAR_RULE_KINDS, SECTIONS
from planner.rules.schema.common import RefTo, RuleModel

BEGIN = "<!-- BEGIN GENERATED REFERENCE (planner schema --markdown) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _is_percentage(metadata: list[Any] | tuple[Any, ...]) -> bool:
    return any(getattr(getattr(m, "func", None), "__name__", "") == "_fraction" for m in metadata)


def _type_name(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> str:
    if _is_percentage(metadata):
        return "percentage (`2.5%` or `0.025`)"
    for marker in metadata:
        if isinstance(marker, RefTo):
            many = typing.get_origin(annotation) is tuple or typing.get_origin(_strip(annotation)) is tuple
            return f"{marker.kind} id" + (" or list" if many else "")
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0], args[1:])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        key, value = args
        return f"map {_type_name(key)} → {_type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if annotation is float:
        return "number"
    if annotation is int:
        return "integer"
    if annotation is bool:
        return "true/false"
    if annotation is str:
        return "text"
    return getattr(annotation, "__name__", str(annotation))


def _strip(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


GENERIC_MEANING = {"id": "Unique id within the section.", "name": "Display name.", "applies_to": "Scope: which cells."}


def _default(info: Any) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "empty"
    value = info.default
    if isinstance(value, RuleModel):
        return "all"
    if value in ((), None):
        return "—"
    return f"`{value!r}`"


def model_table(model: type[BaseModel]) -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind = _type_name(info.annotation, list(info.metadata))
        meaning = (info.description or GENERIC_MEANING.get(name, "")).replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{key}` | {kind} | {_default(info)} | {meaning} |")
    return "\n".join(rows)


def _models() -> list[tuple[str, type[BaseModel]]]:
    """Every model reachable from the sections, in a stable, readable order."""
    seen: dict[type[BaseModel], str] = {}

    def visit(model: type[BaseModel], title: str) -> None:
        if model in seen:
            return
        seen[model] = title
        for info in model.model_fields.values():
            for inner in _nested(info.annotation):
                visit(inner, inner.__name__)

    for name, section in SECTIONS.items():
        if name == "calendar_rules":
            for kind, model in CALENDAR_RULE_KINDS.items():
                visit(model, f"calendar_rules: {kind}")
            continue
        # every section but calendar_rules (handled above) is a model class; TypeAdapter[Any] does not say so
        visit(cast(type[BaseModel], section.adapter._type), name)
    return [(title, model) for model, title in seen.items()]


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, RuleModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_nested(arg))
    return out


def reference_markdown() -> str:
    parts = [BEGIN, ""]
    for title, model in _models():
        section = SECTIONS.get(title)
        heading = f"### `{title}`" if section or title.startswith("calendar_rules") else f"### {model.__name__}"
        anchor = f'<a id="{model.__name__.lower()}"></a>'
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        shape = ""
        if section is not None:
            shape = " One mapping per rule set." if section.single else " A list of objects."
        parts += [f"{heading} {anchor}", "", doc + shape, "", model_table(model), ""]
    parts.append(END)
    return "\n".join(parts)
