"""Hands the current policy to new incidents."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.models import LoadMatrixInput, LoadPolicyInput, LoadPolicyResult
from workflows.matrix import EscalationMatrix
from workflows.policy import ConfigError, Policy


class PolicyActivities:
    """Reads the policy file anew for each incident, so an edit applies to new incidents.

    ``load`` raises ``ConfigError`` for a broken file; the incident then opens
    under the last valid policy and its timeline says why. The matrix reader gives the last
    valid matrix, marked, while its file is broken (workers.matrix_file.LastValidMatrix).
    """

    def __init__(
        self,
        load: Callable[[], Policy],
        source: str,
        last_valid: Policy,
        load_matrix: Callable[[], EscalationMatrix] | None = None,
    ) -> None:
        self._load = load
        self._source = source
        self._last_valid = last_valid
        self._load_matrix = load_matrix

    @activity.defn(name="load_policy")
    async def load_policy(self, input: LoadPolicyInput) -> LoadPolicyResult:
        try:
            policy = self._load()
        except ConfigError as exc:
            activity.logger.error("policy file refused for %s: %s", input.incident_id, exc)
            return LoadPolicyResult(
                policy=self._last_valid,
                source=self._source,
                error=exc.told(),
                warning=(
                    f"The policy file is invalid, so this incident uses the last valid "
                    f"policy (version {self._last_valid.version}). {exc}"
                ),
            )
        self._last_valid = policy
        return LoadPolicyResult(policy=policy, source=self._source)

    @activity.defn(name="load_escalation_matrix")
    async def load_escalation_matrix(self, input: LoadMatrixInput) -> EscalationMatrix:
        """The current matrix (the last valid one, marked, while the file is broken). A file
        broken before any valid read is a retryable error: fix it and the crisis goes on."""
        if self._load_matrix is None:
            raise ApplicationError("no escalation matrix configured", non_retryable=True)
        try:
            return self._load_matrix()
        except ConfigError as exc:
            activity.logger.error("escalation matrix refused for %s: %s", input.crisis_id, exc)
            raise ApplicationError(str(exc), type="ConfigError") from exc
