"""Durable state that must outlive the daemon process (kept under `settings.state_path`)."""

from zerogravity_proxy.store.responses import ResponseStore
from zerogravity_proxy.store.sqlite import StoreError

__all__ = ["ResponseStore", "StoreError"]
