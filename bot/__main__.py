"""`python -m bot` is the `hashi` command."""

from bot.cli import main

main()
