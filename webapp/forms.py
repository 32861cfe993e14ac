"""Marshmallow fields and helpers shared by every form and API body.

Every field carries a label; every error message is in the request's language and, once flattened
by :func:`webapp.errors.from_schema`, names the field and says why. Empty strings count as missing
(a blank required box is "required", not "invalid").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from uuid import UUID

from marshmallow import EXCLUDE, RAISE, Schema, fields, missing
from marshmallow import ValidationError as SchemaError
from werkzeug.datastructures import MultiDict

from consult.text import TextError, clean_text
from consult.text import pattern as text_pattern
from webapp.errors import from_schema
from webapp.i18n import gettext, lang, lazy_gettext, pick
from webapp.state import local_zone

Pair = tuple[str, str]

#: Whether the data being loaded is a JSON body (:func:`load` with ``strict``): its values then
#: have the JSON types the OpenAPI document gives (a number, a boolean, a list), not the text of
#: a form, and only text may be blank.
_JSON_BODY: ContextVar[bool] = ContextVar("json_body", default=False)


class Form(Schema):
    """The base of every input schema. A field it does not name is refused, in nested rows too
    (the OpenAPI document says ``additionalProperties: false``); query strings are read with
    ``unknown=EXCLUDE`` (:func:`load`), and pages send only the fields of the form."""

    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012
        "unknown": lazy_gettext("不是可接受的字段"),
        "type": lazy_gettext("须为 JSON 对象"),
    }


class _Labelled:
    label: Any


class _BlankIsMissing(fields.Field):
    """Blank text (and, for list fields, an empty list) counts as missing: "required", not
    "invalid"."""

    empty_list_is_blank = False

    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        json_body = _JSON_BODY.get()
        if (
            isinstance(value, str)
            and not value.strip()
            and (not json_body or isinstance(self, Text))
        ) or (self.empty_list_is_blank and value == []):
            value = missing
        elif json_body and value is not missing and value is not None:
            self.check_json_type(value)
        return super().deserialize(value, attr, data, **kwargs)

    def check_json_type(self, value: Any) -> None:
        """Refuse a JSON value of another type than the document gives (a form sends text)."""


class Text(_BlankIsMissing, fields.String, _Labelled):
    """Free text, checked by :func:`consult.text.clean_text` (the command line's check too): no
    control characters (tab and line breaks only where ``multiline``), no lone surrogates, no
    direction overrides; NFC, at most ``max_length`` characters. The OpenAPI document says the
    same with a pattern."""

    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("必填，不能为空"),
        "null": lazy_gettext("必填，不能为空"),
        "invalid": lazy_gettext("须为文字"),
        "invalid_utf8": lazy_gettext("须为文字"),
    }

    def __init__(
        self,
        label: Any,
        *,
        max_length: int = 200,
        required: bool = True,
        multiline: bool = False,
        min_length: int | None = None,
        pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.label = label
        self.max_length = max_length
        self.min_length = min_length
        self.multiline = multiline
        if not required:
            kwargs.setdefault("load_default", "")
        metadata: dict[str, Any] = {
            "label": label,
            "maxLength": max_length,
            "pattern": pattern or text_pattern(multiline=multiline, required=required),
        }
        if required or min_length:
            metadata.update(minLength=min_length or 1)
        super().__init__(required=required, metadata=metadata, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        try:
            text = clean_text(text, multiline=self.multiline, max_length=self.max_length)
        except TextError as error:
            raise SchemaError(pick(error.names)) from None
        if not text and self.required:
            raise self.make_error("required")
        if self.min_length is not None and text and len(text) < self.min_length:
            raise SchemaError(gettext("不能少于%(min)s个字", min=self.min_length))
        return text


class Number(_BlankIsMissing, fields.Integer, _Labelled):
    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("必填，不能为空"),
        "null": lazy_gettext("必填，不能为空"),
        "invalid": lazy_gettext("须为整数"),
        "too_large": lazy_gettext("数值过大"),
    }

    def __init__(
        self, label: Any, *, minimum: int, maximum: int, required: bool = True, **kwargs: Any
    ) -> None:
        self.label = label
        self.minimum = minimum
        self.maximum = maximum
        super().__init__(
            required=required,
            strict=False,
            metadata={"label": label, "minimum": minimum, "maximum": maximum},
            **kwargs,
        )

    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if isinstance(value, bool):
            raise SchemaError(gettext("须为整数"))
        return super().deserialize(value, attr, data, **kwargs)

    def check_json_type(self, value: Any) -> None:
        if not isinstance(value, int | float):
            raise SchemaError(gettext("须为整数"))

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise SchemaError(gettext("须为整数"))
        number = int(super()._deserialize(value, attr, data, **kwargs))
        if not self.minimum <= number <= self.maximum:
            raise SchemaError(
                gettext("须在%(min)s到%(max)s之间", min=self.minimum, max=self.maximum)
            )
        return number


class Choice(_BlankIsMissing, fields.String, _Labelled):
    """One of a fixed set of values, each with a (Chinese, English) name."""

    default_error_messages = Text.default_error_messages

    def __init__(
        self,
        label: Any,
        choices: Mapping[str, Pair] | Sequence[str],
        *,
        required: bool = True,
        **kwargs: Any,
    ) -> None:
        self.label = label
        self.choices: dict[str, Pair] = (
            dict(choices) if isinstance(choices, Mapping) else {c: (c, c) for c in choices}
        )
        super().__init__(
            required=required, metadata={"label": label, "enum": list(self.choices)}, **kwargs
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs)).strip()
        if text not in self.choices:
            raise _not_one_of(self.choices)
        return text


def _not_one_of(choices: Mapping[str, Pair]) -> SchemaError:
    names = ("、" if lang() == "zh" else ", ").join(pick(n) for n in choices.values())
    return SchemaError(gettext("须为以下之一：%(choices)s", choices=names))


class Choices(_BlankIsMissing, fields.Field, _Labelled):
    """Several of a fixed set of values (ticked boxes, or a JSON list), each with its names."""

    empty_list_is_blank = True

    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("至少选择一项"),
        "null": lazy_gettext("至少选择一项"),
    }

    def __init__(
        self, label: Any, choices: Mapping[str, Pair], *, required: bool = True, **kwargs: Any
    ) -> None:
        self.label = label
        self.choices = dict(choices)
        if not required:
            kwargs.setdefault("load_default", list)
        metadata = {
            "label": label,
            "type": "array",
            "items": {"type": "string", "enum": list(self.choices)},
            "uniqueItems": True,
        }
        if required:
            metadata["minItems"] = 1
        super().__init__(required=required, metadata=metadata, **kwargs)

    def check_json_type(self, value: Any) -> None:
        if not isinstance(value, list):
            raise SchemaError(gettext("须为选项列表"))

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise SchemaError(gettext("须为选项列表"))
        chosen = list(dict.fromkeys(v.strip() for v in items if v.strip()))
        unknown = [v for v in chosen if v not in self.choices]
        if unknown:
            raise _not_one_of(self.choices)
        if self.required and not chosen:
            raise SchemaError(gettext("至少选择一项"))
        return chosen

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[str]:
        return list(value or [])


class Flag(fields.Boolean, _Labelled):
    """A checkbox: absent is false."""

    default_error_messages = {"invalid": lazy_gettext("须为是或否")}  # noqa: RUF012

    def __init__(self, label: Any, **kwargs: Any) -> None:
        self.label = label
        super().__init__(
            load_default=False,
            truthy={"on", "y", "yes", "1", "true", "True", True},
            metadata={"label": label},
            **kwargs,
        )

    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if _JSON_BODY.get() and value is not missing and not isinstance(value, bool):
            raise self.make_error("invalid")
        return super().deserialize(value, attr, data, **kwargs)


#: The years :class:`When` accepts (2000 to 2200), as the OpenAPI document says them.
YEARS_PATTERN = r"^\s*(2[01][0-9][0-9]|2200)-"


class When(_BlankIsMissing, fields.Field, _Labelled):
    """A moment: ISO 8601 with an offset, or a local date and time read in the platform's zone."""

    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("必填，不能为空"),
        "null": lazy_gettext("必填，不能为空"),
    }

    def __init__(self, label: Any, *, required: bool = True, **kwargs: Any) -> None:
        self.label = label
        super().__init__(
            required=required,
            metadata={
                "label": label,
                "type": "string",
                "format": "date-time",
                "pattern": YEARS_PATTERN,
            },
            **kwargs,
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime:
        if not isinstance(value, str):
            raise SchemaError(gettext("须为日期时间，如 2026-01-20 09:00"))
        try:
            moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise SchemaError(gettext("须为日期时间，如 2026-01-20 09:00")) from None
        if moment.year < 2000 or moment.year > 2200:
            raise SchemaError(gettext("年份须在2000至2200之间"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=local_zone())
        return moment

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


class People(_BlankIsMissing, fields.Field, _Labelled):
    """Person ids: a list, or text separated by commas, spaces or new lines."""

    empty_list_is_blank = True

    default_error_messages = Text.default_error_messages

    def __init__(
        self, label: Any, *, required: bool = True, max_items: int = 500, **kwargs: Any
    ) -> None:
        self.label = label
        self.max_items = max_items
        if not required:
            kwargs.setdefault("load_default", list)
        metadata = {
            "label": label,
            "type": "array",
            "maxItems": max_items,
            "uniqueItems": True,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": text_pattern(multiline=False, required=True),
            },
        }
        super().__init__(required=required, metadata=metadata, **kwargs)

    def check_json_type(self, value: Any) -> None:
        if not isinstance(value, list):
            raise SchemaError(gettext("须为人员编号列表"))

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[str]:
        if isinstance(value, str):
            items = (
                value.replace("，", ",")
                .replace("、", ",")
                .replace("\n", ",")
                .replace(" ", ",")
                .split(",")
            )
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = value
        else:
            raise SchemaError(gettext("须为人员编号列表"))
        try:
            people = [p for p in (clean_text(i, max_length=64) for i in items) if p]
        except TextError as error:
            raise SchemaError(pick(error.names)) from None
        if len(people) > self.max_items:
            raise SchemaError(gettext("最多%(max)s人", max=self.max_items))
        if len(set(people)) != len(people):
            raise SchemaError(gettext("有重复的人员编号"))
        return people

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[str]:
        return list(value or [])


class Ident(_BlankIsMissing, fields.UUID, _Labelled):
    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("必填，不能为空"),
        "null": lazy_gettext("必填，不能为空"),
        "invalid_uuid": lazy_gettext("须为有效的编号（UUID）"),
    }

    def __init__(self, label: Any, *, required: bool = True, **kwargs: Any) -> None:
        self.label = label
        super().__init__(required=required, metadata={"label": label}, **kwargs)


class Rows(fields.List, _Labelled):
    """Repeated rows of a form (``name-0-field``) or a JSON array of objects."""

    default_error_messages = {  # noqa: RUF012
        "required": lazy_gettext("至少需要一项"),
        "null": lazy_gettext("至少需要一项"),
        "invalid": lazy_gettext("须为列表"),
    }

    def __init__(
        self,
        label: Any,
        row: type[Schema],
        *,
        required: bool = True,
        max_rows: int = 50,
        **kwargs: Any,
    ) -> None:
        self.label = label
        self.row = row
        self.max_rows = max_rows
        if not required:
            kwargs.setdefault("load_default", list)
        metadata: dict[str, Any] = {"label": label, "maxItems": max_rows}
        if required:
            metadata["minItems"] = 1
        super().__init__(fields.Nested(row), required=required, metadata=metadata, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[Any]:
        if isinstance(value, list) and len(value) > self.max_rows:
            raise SchemaError(gettext("最多%(max)s项", max=self.max_rows))
        rows = super()._deserialize(value, attr, data, **kwargs)
        if self.required and not rows:
            raise SchemaError(gettext("至少需要一项"))
        return list(rows)


class PageQuery(Form):
    """``?page=&per_page=`` of every paged list."""

    page = Number(lazy_gettext("页码"), minimum=1, maximum=100_000, required=False, load_default=1)
    per_page = Number(
        lazy_gettext("每页条数"), minimum=1, maximum=200, required=False, load_default=20
    )


# --- reading forms and bodies -------------------------------------------------------------------


def form_data(schema: Schema, form: MultiDict[str, str]) -> dict[str, Any]:
    """A form's fields as the schema expects them: rows from ``name-<i>-<field>``, lists from repeats."""
    data: dict[str, Any] = {}
    for name, f in schema.fields.items():
        key = f.data_key or name
        if isinstance(f, Rows):
            data[key] = _rows(key, form, set(f.row().fields))
        elif isinstance(f, People | Choices):
            values = form.getlist(key)
            if len(values) > 1:
                data[key] = values
            elif values:
                data[key] = values[0]
        elif key in form:
            data[key] = form.get(key)
    return data


def _rows(prefix: str, form: MultiDict[str, str], names: set[str]) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        parts = key.split("-", 2)
        if (
            len(parts) == 3
            and parts[0] == prefix
            and parts[1].isdigit()
            and int(parts[1]) < 1000
            and parts[2] in names
        ):
            rows.setdefault(int(parts[1]), {})[parts[2]] = form.get(key, "")
    return [row for _, row in sorted(rows.items()) if any(str(v).strip() for v in row.values())]


def labels(schema: Schema, prefix: str = "") -> dict[str, str]:
    """Field name (as the form names it) → label in the request's language."""
    out: dict[str, str] = {}
    for name, f in schema.fields.items():
        key = f"{prefix}{f.data_key or name}"
        label = f.metadata.get("label")
        if label is not None:
            out[key] = str(label)
        if isinstance(f, Rows):
            for sub, text in labels(f.row(), "").items():
                out[f"{key}-*-{sub}"] = f"{label} · {text}" if label is not None else text
    return out


def load(schema: Schema, data: Mapping[str, Any], strict: bool = False) -> dict[str, Any]:
    """Validate ``data``; raises a :class:`~webapp.errors.Problem` naming each bad field.
    ``strict``: a JSON body (unknown fields refused, values of their JSON types)."""
    json_body = _JSON_BODY.set(strict)
    try:
        result = schema.load(data, unknown=RAISE if strict else EXCLUDE)
    except SchemaError as e:
        raise from_schema(e, labels(schema)) from None
    finally:
        _JSON_BODY.reset(json_body)
    return dict(result)


def load_form(schema: Schema, form: MultiDict[str, str]) -> dict[str, Any]:
    return load(schema, form_data(schema, form))


def uuid_or_none(text: str | None) -> UUID | None:
    try:
        return UUID(str(text))
    except ValueError:
        return None
