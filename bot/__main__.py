"""`python -m bot` is the `hashi` command."""

from bot.cli.command import main

main()
