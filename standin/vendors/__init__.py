"""Stand-ins of other vendors' APIs (PagerDuty, GitHub, Jira, Statuspage) over real HTTP on 127.0.0.1, each
checking every call against the vendor's published description in ../shared/specs/<vendor>."""
