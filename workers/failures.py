"""How errors travel to Temporal: a refusal is a person's mistake, told without the worker's
stack trace (the Web UI shows it under the refusal, file paths and all)."""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter
from temporalio.exceptions import ApplicationError

from workflows.operations import REFUSAL_TYPE


class RefusalFailureConverter(DefaultFailureConverter):
    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        if isinstance(exception, ApplicationError) and exception.type == REFUSAL_TYPE:
            failure.stack_trace = ""
