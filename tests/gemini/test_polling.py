"""The one polling rule of batch jobs and uploads (pipeline.gemini.polling)."""

from __future__ import annotations

from itertools import islice

from pipeline.gemini.polling import MAX_BATCH_POLL_SECONDS, PollingRule


def test_batch_polling_doubles_up_to_thirty_times_the_setting() -> None:
    rule = PollingRule.for_batches(0.5)
    assert list(islice(rule.delays(), 8)) == [0.5, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_the_default_setting_backs_off_to_five_minutes() -> None:
    delays = list(islice(PollingRule.for_batches(10.0).delays(), 10))
    assert delays[:6] == [10.0, 10.0, 20.0, 40.0, 80.0, 160.0]
    assert delays[-1] == MAX_BATCH_POLL_SECONDS == 300.0


def test_the_trigger_waits_before_its_first_look_and_then_follows_the_same_rule() -> None:
    rule = PollingRule.for_batches(0.5)
    settled = rule.settled(7.0)
    assert next(settled.delays()) == 7.0
    assert next(rule.settled(0.1).delays()) == 0.5  # never sooner than the rule itself
    assert list(islice(settled.delays(), 1, 6)) == list(islice(rule.delays(), 1, 6))
    assert PollingRule(**settled.to_dict()) == settled  # what the trigger stores, it rebuilds
