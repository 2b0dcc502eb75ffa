"""The web dashboard: incidents and reliability, server-rendered, read-only, signed in with Slack."""
