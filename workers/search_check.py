"""The worker checks that the namespace knows every search attribute the workflows publish.

An attribute missing from the namespace fails every workflow task that upserts it, so a
worker deployed before its attributes are registered would stall the incidents it runs.
The worker refuses to start instead, and says how to register them.
"""

from __future__ import annotations

import logging

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workers.policy_file import ConfigError
from workflows.search import SEARCH_ATTRIBUTES, type_name

log = logging.getLogger("vigie.worker")


async def check_search_attributes(client: Client) -> None:
    """Raises ConfigError naming the missing attributes; a namespace that does not let the
    worker read its attributes (some hosted offerings) is logged and trusted."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as exc:
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
            log.warning("cannot list the namespace's search attributes (%s): not checked", exc)
            return
        raise
    known = set(listed.custom_attributes)
    missing = [key for key in SEARCH_ATTRIBUTES if key.name not in known]
    if missing:
        names = " ".join(f"--name {k.name} --type {type_name(k)}" for k in missing)
        raise ConfigError(
            f"namespace {client.namespace!r} lacks the search attributes "
            f"{', '.join(k.name for k in missing)}; register them first: "
            f"temporal operator search-attribute create -n {client.namespace} {names}"
        )
