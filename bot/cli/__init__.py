"""The `hashi` command line: one module per group of commands; command.py parses and dispatches."""
