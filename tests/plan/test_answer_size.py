"""The answer-size model: fitted lines and upper bounds worked out by hand."""

from __future__ import annotations

from pipeline.catalog import model_info
from pipeline.plan import AnswerSizeModel, HistoryRow, fit, request_kind
from pipeline.tasks import AnswerPrior

LOW = model_info("gemini-3.8-flash").thinking_for("LOW")


def _rows(points, kind="video", thoughts=300):
    return [HistoryRow("gemini-3.8-flash", kind, "LOW", s, out, thoughts) for s, out in points]


def test_a_line_through_answers_that_grow_with_the_media() -> None:
    # answers of 100 + 2 tokens per second, exactly
    sizes = fit(_rows([(s, 100 + 2 * s) for s in (10, 20, 30, 40, 50)]), AnswerPrior(), "t")
    got = sizes.sizes("gemini-3.8-flash", "video", 60.0, LOW, 10_000)
    assert (got.output, got.thoughts) == (220, 300)  # 100 + 2 x 60
    assert (got.output_max, got.thoughts_max) == (220, 300)  # no residuals: the bound is the line


def test_the_upper_bound_is_the_95th_percentile_of_what_was_billed() -> None:
    # images: no spread in seconds, so a constant: mean of 100..119 = 109.5; residuals -9.5..+9.5;
    # the 95th percentile of 20 residuals is the 19th (ceil(0.95 x 20) = 19): 119 - 109.5 = 8.5 -> 118
    sizes = fit(_rows([(0.0, 100 + i) for i in range(20)], kind="image"), AnswerPrior(), "t")
    got = sizes.sizes("gemini-3.8-flash", "image", 0.0, LOW, 10_000)
    assert (got.output, got.output_max) == (110, 118)  # ceil(109.5), ceil(118.0)


def test_too_little_history_keeps_the_prior() -> None:
    sizes = fit(_rows([(10.0, 500)] * 4), AnswerPrior(), "t")
    assert sizes.source_of("gemini-3.8-flash", "video", LOW) == "prior"
    got = sizes.sizes("gemini-3.8-flash", "video", 10.0, LOW, 10_000)
    assert got.output == 165  # the prior: 150 + 1.5 x 10


def test_the_cap_leaves_no_room_beyond_max_output_tokens() -> None:
    got = AnswerSizeModel().sizes("gemini-3.8-flash", "video", 100.0, LOW, 500)
    assert got.thoughts == 400 and got.output == 100  # thoughts first (400), the answer gets the rest
    assert got.thoughts_max + got.output_max == 500


def test_what_each_requests_row_carried() -> None:
    assert request_kind({"request_key": "abc-c000-picture"}) == "picture"
    assert request_kind({"request_key": "abc-c000-sound-reask"}) == "sound"
    assert request_kind({"request_key": "abc-c000", "prompt_tokens_image": 280}) == "image"
    assert request_kind({"request_key": "abc-c000", "prompt_tokens_video": 700}) == "video"
    assert request_kind({"request_key": "abc-c000", "prompt_tokens_audio": 320}) == "audio"
    assert request_kind({"request_key": "prompt-cache"}) is None


def test_a_model_recently_answered_by_another_is_priced_as_that_one() -> None:
    routed = [HistoryRow("gemini-3.6-flash", "image", "LOW", 0.0, 120, 300, "gemini-3.8-flash")] * 3
    direct = [HistoryRow("gemini-3.6-flash", "image", "LOW", 0.0, 120, 300, "gemini-3.6-flash")]
    assert fit(routed + direct, AnswerPrior(), "t").answered_by == {"gemini-3.6-flash": "gemini-3.8-flash"}
    # half and half is not "mostly": the model asked prices it
    assert fit(routed[:1] + direct, AnswerPrior(), "t").answered_by == {}
