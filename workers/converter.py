"""The worker's data converter: pydantic's (as every client's), with two habits of its own.

A refusal travels without the worker's stack trace (``workers.failures``). An input decoded
without a type (an operation's Signal and Update, a run's start input: the workflows take
them as sent, to check them themselves) that is not JSON pydantic can read reaches its
handler as ``workflows.not_json.NotJson`` instead of an error the SDK would drop the Signal
for, or fail the run's workflow task over and over.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from workers.failures import RefusalFailureConverter
from workflows.not_json import NotJson


class _OperatorJson(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as exc:
            errors = exc.errors()
            if type_hint not in (None, Any) or not errors or errors[0]["type"] != "json_invalid":
                raise
            return NotJson.of(errors[0]["msg"])


class _PayloadConverter(CompositePayloadConverter):
    """As ``PydanticPayloadConverter``, with ``_OperatorJson`` for JSON."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _OperatorJson() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER: DataConverter = dataclasses.replace(
    DataConverter(payload_converter_class=_PayloadConverter),
    failure_converter_class=RefusalFailureConverter,
)
