"""The one way Vigie connects to Temporal.

Connection options come from Temporal's environment configuration
(``temporalio.envconfig``): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY (Temporal Cloud), TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH /
_KEY_PATH (mTLS), TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_PROFILE and
TEMPORAL_CONFIG_FILE, as the ``temporal`` CLI reads them. Payloads are pydantic.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.converter import CLIENT_CONVERTER
from workers.settings import Settings


def connect_options(settings: Settings, *, local: bool = False) -> dict[str, Any]:
    """Options for Client.connect: the environment configuration (profile file, then the
    TEMPORAL_* variables). Vigie's address and namespace settings win only when they were
    set explicitly; their defaults never replace a profile's. ``local``: the dev stack's own
    server, plain and in the ``default`` namespace, whatever the environment says."""
    if local:
        return {"target_host": settings.temporal_address, "namespace": "default"}
    options: dict[str, Any] = dict(ClientConfigProfile.load().to_client_connect_config())
    explicit = settings.model_fields_set
    if "temporal_address" in explicit or not options.get("target_host"):
        options["target_host"] = settings.temporal_address
    if "temporal_namespace" in explicit or not options.get("namespace"):
        options["namespace"] = settings.temporal_namespace
    return options


def metrics_runtime(bind: str) -> Runtime:
    """A runtime exporting the SDK's and Vigie's metrics for Prometheus on ``bind``."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


async def connect(
    settings: Settings, runtime: Runtime | None = None, *, local: bool = False
) -> Client:
    return await Client.connect(
        **connect_options(settings, local=local),
        data_converter=CLIENT_CONVERTER,
        runtime=runtime,
    )
