"""Shorter waits between the Slack client's retries, for tests that make Slack fail on purpose.

Hashi's client retries with slack_sdk's handlers (bot/slack/retries.py), which wait 0.5·2ⁿ s plus up to 1 s of
random jitter (5xx, `ratelimited`, a timed-out safe call) and, for a 429, the Retry-After plus up to 1 s. A
test that injects faults to see what is retried and what the user is told would spend most of its time asleep.
`shorten_retry_waits` keeps every handler, every retry and their order, and only shortens the sleeps: the
backoff becomes `backoff`·2ⁿ s, the jitter none, and a 429 waits its Retry-After exactly. In-process apps only
(`running_hashi`): a `hashi serve` subprocess keeps slack_sdk's waits.
"""

from __future__ import annotations

import pytest
from slack_sdk.http_retry import async_handler, builtin_async_handlers, handler
from slack_sdk.http_retry.jitter import Jitter


class _NoJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration


class _NoRandom:
    @staticmethod
    def random() -> float:
        return 0.0


def shorten_retry_waits(monkeypatch: pytest.MonkeyPatch, *, backoff: float = 0.02) -> None:
    """For the rest of the test, slack_sdk's retry handlers wait `backoff`·2ⁿ s, and Retry-After exactly."""
    for calculator in (async_handler.default_interval_calculator, handler.default_interval_calculator):
        monkeypatch.setattr(calculator, "backoff_factor", backoff)
        monkeypatch.setattr(calculator, "jitter", _NoJitter())
    monkeypatch.setattr(builtin_async_handlers, "random", _NoRandom)
