"""The worker's data converter: pydantic's (as every client's), with habits of its own.

A refusal travels without the worker's stack trace (``workers.failures``). An input a
workflow decodes without a type (an operation's Signal and Update, a run's start input: the
workflows take them as sent, to check them themselves) that is not JSON pydantic can read
reaches its handler as ``workflows.not_json.NotJson`` instead of an error the SDK would
drop the Signal for, or fail the run's workflow task over and over.

The SDK makes a payload converter for every workflow activation; pydantic's builds its
type adapters afresh in each one. Here one JSON converter, and its adapters, serve them all.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import Any

from pydantic import TypeAdapter, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from workers.failures import RefusalFailureConverter
from workflows.not_json import NotJson

_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)
# This process's modules: inside the sandbox, sys.modules is the sandbox's own for a while.
_HOST_MODULES = sys.modules


def _adapter(hint: Any) -> TypeAdapter[Any]:
    """The type adapter for ``hint``: built once per worker process for ``Any`` and for a
    class of this process's own modules; built each time for another hint, as the SDK's
    converter does (a class of a sandbox's copy of a module would be kept alive here)."""
    return _ADAPTERS(hint) if _own(hint) else TypeAdapter(hint)


def _own(hint: Any) -> bool:
    if hint is Any:
        return True
    module = _HOST_MODULES.get(getattr(hint, "__module__", None) or "")
    name = getattr(hint, "__qualname__", None)
    return isinstance(name, str) and getattr(module, name, None) is hint


class _OperatorJson(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = Any if type_hint is None else type_hint
        try:
            return _adapter(hint).validate_json(payload.data)
        except ValidationError as exc:
            errors = exc.errors()
            if hint is not Any or not errors or errors[0]["type"] != "json_invalid":
                raise
            return NotJson.of(errors[0]["msg"])


_JSON = _OperatorJson()


class _PayloadConverter(CompositePayloadConverter):
    """As ``PydanticPayloadConverter``, with the one ``_OperatorJson`` for JSON."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER: DataConverter = dataclasses.replace(
    DataConverter(payload_converter_class=_PayloadConverter),
    failure_converter_class=RefusalFailureConverter,
)
"""The workers' (their workflows', activities' and own client's)."""

CLIENT_CONVERTER: DataConverter = dataclasses.replace(
    pydantic_data_converter, failure_converter_class=RefusalFailureConverter
)
"""Every other client's (the CLI, the webhook receiver): what it cannot read is an error
(a memo that is not JSON gives no title in `vigie list`), never ``NotJson``."""
