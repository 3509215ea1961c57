"""zerogravity-proxy: a mitmproxy daemon that serves Gemini traffic as OpenAI-format endpoints."""

__version__ = "0.1.0"
