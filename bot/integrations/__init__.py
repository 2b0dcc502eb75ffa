"""Hashi's integrations with other vendors' tools: alerts in, pages out, tickets, the status page.

Each integration is optional and configured in `hashi.toml` (`[integrations.<name>]`, `config.py`), with
its secrets in environment variables and its base URL overridable (`HASHI_<NAME>_API_URL`). Every outbound
call goes through one `VendorClient` (`client.py`): timeouts, retries with backoff, 429 + Retry-After,
metrics. Each integration answers `hashi doctor` through `probe.py`.
"""
