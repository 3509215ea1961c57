"""The antigravity driver: Antigravity's language server (LS) sends the upstream requests."""
