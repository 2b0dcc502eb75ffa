"""Block Kit builders, pure: domain values in, validated Slack blocks and views out; a module per surface."""
