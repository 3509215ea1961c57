"""Learns which models the language server may use, and their quota, from its own traffic.

The LS asks Cloud Code `fetchAvailableModels` now and then; we read the answer on its way past
(untouched) instead of asking Google ourselves.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import http

from zerogravity_proxy.addons.flows import gemini_endpoint
from zerogravity_proxy.gemini.available import parse_available_models
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


class Models:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or response.status_code != 200:
            return
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        if endpoint is None or endpoint.method != "fetchAvailableModels":
            return
        models = parse_available_models(response.content or b"")
        if models:
            self.runtime.quota.update(models, time.time())
            self.runtime.learn_models(models)
            log.info("learned %d model(s) and their quota from fetchAvailableModels", len(models))
