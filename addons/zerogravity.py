"""Entry point for `mitmdump -s addons/zerogravity.py`: the same daemon, mitmproxy's CLI."""

from zerogravity_proxy.addons import default_addons

addons = default_addons()
