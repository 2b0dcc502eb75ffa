"""Slack's rate limits for the stand-in: method tiers, token buckets per workspace, an injectable clock."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Tier(StrEnum):
    """Slack's rate-limit tiers (docs.slack.dev/apis/web-api/rate-limits)."""

    TIER_1 = "Tier 1"
    TIER_2 = "Tier 2"
    TIER_3 = "Tier 3"
    TIER_4 = "Tier 4"
    # docs.slack.dev's method pages say "Special rate limits apply" and describe them in prose.
    SPECIAL = "Special"


@dataclass(frozen=True)
class Allowance:
    """A token bucket: `burst` calls at once, refilled at `per_minute`."""

    per_minute: float
    burst: float


# Slack documents each tier as a floor per minute ("1+", "20+", "50+", "100+") that tolerates bursts:
# Tier 1 "a small amount", Tier 2 "occasional bursts", Tier 3 "sporadic bursts are welcome", Tier 4
# "generous burst behavior". So a bucket holds a minute's worth (Tier 1: a few) and refills at the
# documented floor; the stand-in is never stricter than Slack says it is.
TIER_ALLOWANCES: Mapping[Tier, Allowance] = {
    Tier.TIER_1: Allowance(per_minute=1, burst=5),
    Tier.TIER_2: Allowance(per_minute=20, burst=20),
    Tier.TIER_3: Allowance(per_minute=50, burst=50),
    Tier.TIER_4: Allowance(per_minute=100, burst=100),
}

# "This method allows hundreds of requests per minute" (docs.slack.dev, the auth.test and
# chat.getPermalink pages): read as two hundred, the least that "hundreds" means.
HUNDREDS_PER_MINUTE = Allowance(per_minute=200, burst=200)

# chat.postMessage: "generally allows posting one message per second per channel, while also maintaining
# a workspace-wide limit"; "Short bursts >1 allowed" (docs.slack.dev/apis/web-api/rate-limits). Slack
# publishes no burst size nor a workspace-wide figure; bursts of about 25 were observed to pass (a leaky
# bucket of ~25 leaking 1/s: RamblingCookieMonster/PSSlack#52), so a channel's bucket holds 25. No
# workspace-wide bucket is kept, since Slack gives no number to be true to.
POST_MESSAGE_PER_CHANNEL = Allowance(per_minute=60, burst=25)

# Every method the stand-in answers, with its tier as docs.slack.dev's method page states it ("Rate
# Limits" under Facts), cross-checked with slackapi/java-slack-sdk's MethodsRateLimits.java. Where the
# two disagree the docs page wins: apps.connections.open (docs: Tier 3; the Java SDK: Tier 1).
# conversations.members, pins.list and usergroups.users.list are Tier 4, Tier 2 and Tier 2 on their
# pages and in the Java SDK alike.
METHOD_TIERS: Mapping[str, Tier] = {
    "apps.connections.open": Tier.TIER_3,
    "auth.test": Tier.SPECIAL,  # hundreds per minute
    "bookmarks.add": Tier.TIER_2,
    "chat.delete": Tier.TIER_3,
    "chat.deleteScheduledMessage": Tier.TIER_3,
    "chat.getPermalink": Tier.SPECIAL,  # hundreds per minute
    "chat.postEphemeral": Tier.TIER_4,
    "chat.postMessage": Tier.SPECIAL,  # one per second per channel, short bursts allowed
    "chat.scheduleMessage": Tier.TIER_3,
    "chat.scheduledMessages.list": Tier.TIER_3,
    "chat.update": Tier.TIER_3,
    "conversations.archive": Tier.TIER_2,
    "conversations.create": Tier.TIER_2,
    # Internal apps; commercially distributed non-Marketplace apps have had less since 2025.
    "conversations.history": Tier.TIER_3,
    "conversations.info": Tier.TIER_3,
    "conversations.invite": Tier.TIER_3,
    "conversations.join": Tier.TIER_3,
    "conversations.list": Tier.TIER_2,
    "conversations.members": Tier.TIER_4,
    "conversations.replies": Tier.TIER_3,  # as conversations.history
    "conversations.setPurpose": Tier.TIER_2,
    "conversations.setTopic": Tier.TIER_2,
    "files.completeUploadExternal": Tier.TIER_4,
    "files.getUploadURLExternal": Tier.TIER_4,
    "openid.connect.token": Tier.TIER_3,
    "openid.connect.userInfo": Tier.TIER_3,
    "pins.add": Tier.TIER_2,
    "pins.list": Tier.TIER_2,
    "pins.remove": Tier.TIER_2,
    "reactions.add": Tier.TIER_3,
    "usergroups.users.list": Tier.TIER_2,
    "users.info": Tier.TIER_4,
    "users.lookupByEmail": Tier.TIER_3,
    "views.open": Tier.TIER_4,
    "views.publish": Tier.TIER_4,
    "views.push": Tier.TIER_4,
    "views.update": Tier.TIER_4,
}

# Special-tier methods whose one workspace-wide bucket is not a tier's.
SPECIAL_ALLOWANCES: Mapping[str, Allowance] = {
    "auth.test": HUNDREDS_PER_MINUTE,
    "chat.getPermalink": HUNDREDS_PER_MINUTE,
}

# A method missing from the table gets Tier 2: "most methods allow at least 20 requests per minute".
DEFAULT_TIER = Tier.TIER_2


class ManualClock:
    """A clock that moves only when told: hand it to RateLimits and advance it in tests."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Moves time forward."""
        self.now += seconds


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimits:
    """Slack's rate limits, per workspace (team) and method, and per channel for chat.postMessage.

    `enabled=False` turns them off; `scale` multiplies every allowance (2.0: twice Slack's). One instance may
    serve several stand-ins (workspaces): its buckets are keyed by team.
    """

    enabled: bool = True
    scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, ...], _Bucket] = field(default_factory=dict, repr=False)

    def retry_after(self, *, team: str, method: str, channel: str | None = None) -> int | None:
        """Takes one call from the allowances it counts against; None when allowed, else seconds to wait."""
        if not self.enabled:
            return None
        wanted: list[tuple[tuple[str, ...], Allowance]] = []
        if method == "chat.postMessage":
            if channel:
                wanted.append(((team, method, channel), POST_MESSAGE_PER_CHANNEL))
        else:
            wanted.append(((team, method), allowance_of(method)))
        now = self.clock()
        waits = [self._wait(key, allowance, now) for key, allowance in wanted]
        if any(wait > 0 for wait in waits):
            return max(1, math.ceil(max(waits)))
        for key, _ in wanted:
            self._buckets[key].tokens -= 1
        return None

    def reset(self) -> None:
        """Forgets every call counted so far."""
        self._buckets.clear()

    def _wait(self, key: tuple[str, ...], allowance: Allowance, now: float) -> float:
        """Refills the bucket to `now`; the seconds until it holds a whole call (0 when it does)."""
        rate = allowance.per_minute * self.scale / 60.0
        burst = max(1.0, allowance.burst * self.scale)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=burst, stamp=now)
        else:
            bucket.tokens = min(burst, bucket.tokens + max(0.0, now - bucket.stamp) * rate)
            bucket.stamp = now
        # A hair of slack so that waiting exactly the refill time is never refused for a rounding error.
        return 0.0 if bucket.tokens >= 1 - 1e-9 else (1 - bucket.tokens) / rate


def allowance_of(method: str) -> Allowance:
    """A method's workspace-wide allowance (chat.postMessage's is per channel: POST_MESSAGE_PER_CHANNEL)."""
    special = SPECIAL_ALLOWANCES.get(method)
    if special is not None:
        return special
    tier = METHOD_TIERS.get(method, DEFAULT_TIER)
    return TIER_ALLOWANCES.get(tier, TIER_ALLOWANCES[DEFAULT_TIER])
