"""The aiohttp sidecar: OpenAI-format endpoints served from exchanges, on mitmproxy's loop."""
