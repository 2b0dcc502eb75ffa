"""The incident read model: what storage and the rest of Hashi share about a stored incident.

Plain Python, importing nothing of Hashi: storage reads and writes these values and never imports `bot`; the
reports never import `storage` (tests/reports/test_purity.py); the domain's vocabulary uses the same values.
Here: the open statuses; DESIGN.md's rules over milestones (milestones.py: when an incident started, when its
impact ended, its five durations); the row stats read (stats.py: StatsRow).
"""

from __future__ import annotations

# The statuses of an incident still being worked on, as stored (bot.incidents.model.Status' values): storage
# selects open incidents by them, and the domain's OPEN_STATUSES is these as Status.
OPEN_STATUSES = ("investigating", "identified", "monitoring")
