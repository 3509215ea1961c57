"""`python -m zerogravity_proxy`: the same as the `zerogravity-proxy` command."""

from zerogravity_proxy.cli import main

main()
