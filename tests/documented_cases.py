"""Token and price cases worked out BY HAND from the Gemini API documentation (each names its source).

The estimator (pipeline.catalog / pipeline.account / pipeline.plan.chunk_plan) and the emulator must both meet
them. Nothing here is computed by the code under test: every number is the arithmetic in its comment,
from the rule quoted from the page (read 2026-12-01; see pipeline/catalog/*.json for the full sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

MEDIA_RESOLUTION = "https://ai.google.dev/gemini-api/docs/generate-content/media-resolution"
AUDIO = "https://ai.google.dev/gemini-api/docs/audio"
TOKENS = "https://ai.google.dev/gemini-api/docs/tokens"
SDK_MEDIA_RESOLUTION = "google-genai 3.6.1 types.py MediaResolution"
REFERENCE_2X = "shared/reference/gemini-api.md 'Token accounting' (Gemini 2.x image tiles and video frames)"
PRICING = "https://ai.google.dev/gemini-api/docs/pricing"
PRICING_TRANSCRIBED = (
    "api-evangelist gemini-plans-pricing.yml (transcription of the pricing page, 2026-09-20)"
)
OPTIMIZATION = "https://ai.google.dev/gemini-api/docs/optimization (Batch and Flex: 50% of standard)"


@dataclass(frozen=True)
class TokenCase:
    """One media item sent alone; `tokens` is what the service bills per modality."""

    name: str
    model: str
    kind: str  # image | video | audio
    tokens: dict[str, int]
    source: str
    resolution: str = "MEDIA_RESOLUTION_UNSPECIFIED"
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    fps: float = 1.0
    with_audio: bool = False


TOKEN_CASES = [
    # Gemini 3: "media_resolution ... image: low 280, medium 560, high 1120 tokens", default high
    TokenCase("3.x image LOW", "gemini-3.8-flash", "image", {"IMAGE": 280}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_LOW", 1024, 768),
    TokenCase("3.x image MEDIUM", "gemini-3.8-flash", "image", {"IMAGE": 560}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_MEDIUM", 1024, 768),
    TokenCase("3.x image HIGH", "gemini-3.8-flash", "image", {"IMAGE": 1120}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_HIGH", 640, 480),
    TokenCase("3.x image default", "gemini-3.6-flash", "image", {"IMAGE": 1120}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_UNSPECIFIED", 320, 240),
    TokenCase("3.x image ULTRA_HIGH (per part)", "gemini-3.8-flash", "image", {"IMAGE": 2240}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_ULTRA_HIGH", 1024, 768),
    # Gemini 3 video: 70 tokens a frame at low/medium/default, 280 at high; 1 frame/s by default:
    # 10 s -> frames at 0..9 s = 10 frames
    TokenCase("3.x video 10 s LOW", "gemini-3.8-flash", "video", {"VIDEO": 10 * 70}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_LOW", 320, 240, seconds=10.0),
    TokenCase("3.x video 10 s HIGH", "gemini-3.8-flash", "video", {"VIDEO": 10 * 280}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_HIGH", 320, 240, seconds=10.0),
    # 0.5 fps over 10 s: frames at 0, 2, 4, 6, 8 s = 5 frames
    TokenCase("3.x video 10 s at 0.5 fps", "gemini-3.8-flash", "video", {"VIDEO": 5 * 70}, MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_LOW", 320, 240, seconds=10.0, fps=0.5),
    # a video's sound: 32 tokens per second on top of its frames -> 10 s = 320
    TokenCase("3.x video 10 s with sound", "gemini-3.8-flash", "video", {"VIDEO": 700, "AUDIO": 320},
              AUDIO, "MEDIA_RESOLUTION_LOW", 320, 240, seconds=10.0, with_audio=True),
    # Gemini 2.x images: 258 tokens when both sides <= 384 px, else 768x768 tiles of 258:
    # 1024x768 -> ceil(1024/768) x ceil(768/768) = 2 tiles = 516
    TokenCase("2.x image 1024x768 default", "gemini-2.5-flash-lite", "image", {"IMAGE": 2 * 258}, REFERENCE_2X,
              "MEDIA_RESOLUTION_UNSPECIFIED", 1024, 768),
    TokenCase("2.x image 300x200 default", "gemini-2.5-flash-lite", "image", {"IMAGE": 258}, REFERENCE_2X,
              "MEDIA_RESOLUTION_UNSPECIFIED", 300, 200),
    # google-genai MediaResolution: "low (64 tokens)", "medium (256 tokens)"
    TokenCase("2.x image LOW", "gemini-2.5-flash-lite", "image", {"IMAGE": 64}, SDK_MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_LOW", 1024, 768),
    TokenCase("2.x image MEDIUM", "gemini-2.5-flash-lite", "image", {"IMAGE": 256}, SDK_MEDIA_RESOLUTION,
              "MEDIA_RESOLUTION_MEDIUM", 1024, 768),
    # Gemini 2.x video: 258 tokens a frame (default), 66 at low
    TokenCase("2.x video 10 s default", "gemini-2.5-flash-lite", "video", {"VIDEO": 10 * 258}, REFERENCE_2X,
              "MEDIA_RESOLUTION_UNSPECIFIED", 320, 240, seconds=10.0),
    TokenCase("2.x video 10 s LOW", "gemini-2.5-flash-lite", "video", {"VIDEO": 10 * 66}, REFERENCE_2X,
              "MEDIA_RESOLUTION_LOW", 320, 240, seconds=10.0),
    # "Gemini represents each second of audio as 32 tokens; one minute of audio is 1,920 tokens"
    TokenCase("audio 60 s on 3.x", "gemini-3.5-flash-lite", "audio", {"AUDIO": 1920}, AUDIO, seconds=60.0),
    TokenCase("audio 60 s on 2.x", "gemini-2.5-flash-lite", "audio", {"AUDIO": 1920}, AUDIO, seconds=60.0),
]  # fmt: skip


@dataclass(frozen=True)
class PriceCase:
    name: str
    model: str
    on: date
    tier: str
    usd: Decimal
    source: str
    usage: dict[str, int] = field(default_factory=dict)  # pipeline.account.Usage fields


M = 1_000_000
PRICE_CASES = [
    # 3.8 Flash: "$0.75 through December 31, 2026" input, $3.75 output -> 1M in + 1M out = 4.50
    PriceCase("3.8 Flash promotion, standard", "gemini-3.8-flash", date(2026, 12, 15), "standard",
              Decimal("4.50"), PRICING_TRANSCRIBED, {"text": M, "output": M}),
    # Batch is 50% of standard: 2.25
    PriceCase("3.8 Flash promotion, batch", "gemini-3.8-flash", date(2026, 12, 15), "batch",
              Decimal("2.25"), OPTIMIZATION, {"text": M, "output": M}),
    # "$1.50 starting January 1, 2027", output $7.50 -> 9.00
    PriceCase("3.8 Flash after the promotion", "gemini-3.8-flash", date(2027, 1, 2), "standard",
              Decimal("9.00"), PRICING_TRANSCRIBED, {"text": M, "output": M}),
    # thinking is billed as output: 1000 thoughts + 1000 answer at $3.75/M = 0.0075
    PriceCase("3.8 Flash thoughts bill as output", "gemini-3.8-flash", date(2026, 12, 15), "standard",
              Decimal("0.0075"), PRICING, {"output": 1000, "thoughts": 1000}),
    # cached reads at $0.075/M: 10k prompt of which 8k cached -> 2k x 0.75/M + 8k x 0.075/M = 0.0021
    PriceCase("3.8 Flash cached read", "gemini-3.8-flash", date(2026, 12, 15), "standard",
              Decimal("0.0021"), PRICING, {"text": 10_000, "cached": 8_000}),
    # 3.5 Flash-Lite: "$0.30 (text / image / video / audio)" -> 1M audio = 0.30, batch 0.15
    PriceCase("3.5 Flash-Lite audio at its one rate", "gemini-3.5-flash-lite", date(2026, 12, 15), "standard",
              Decimal("0.30"), PRICING_TRANSCRIBED, {"audio": M}),
    PriceCase("3.5 Flash-Lite audio, batch", "gemini-3.5-flash-lite", date(2026, 12, 15), "batch",
              Decimal("0.15"), OPTIMIZATION, {"audio": M}),
    # 3.6 Flash $1.50 input; Flex is 50% -> 0.75
    PriceCase("3.6 Flash, flex", "gemini-3.6-flash", date(2026, 12, 15), "flex",
              Decimal("0.75"), OPTIMIZATION, {"video": M}),
    # 3.1 Pro: "$4.00, prompts > 200k tokens", output "$18.00, prompts > 200k":
    # 250k x 4/M + 1k x 18/M = 1.00 + 0.018 = 1.018; at 200k exactly the lower tier: 200k x 2/M = 0.40
    PriceCase("3.1 Pro above 200k", "gemini-3.1-pro-preview", date(2026, 12, 15), "standard",
              Decimal("1.018"), PRICING_TRANSCRIBED, {"text": 250_000, "output": 1_000}),
    PriceCase("3.1 Pro at 200k", "gemini-3.1-pro-preview", date(2026, 12, 15), "standard",
              Decimal("0.40"), PRICING_TRANSCRIBED, {"text": 200_000}),
    # 2.5 Flash-Lite: text $0.10, audio $0.30, output $0.40:
    # 100k x 0.10/M + 100k x 0.30/M + 10k x 0.40/M = 0.01 + 0.03 + 0.004 = 0.044; batch 0.022
    PriceCase("2.5 Flash-Lite audio rate", "gemini-2.5-flash-lite", date(2026, 12, 15), "standard",
              Decimal("0.044"), PRICING_TRANSCRIBED, {"text": 100_000, "audio": 100_000, "output": 10_000}),
    PriceCase("2.5 Flash-Lite audio rate, batch", "gemini-2.5-flash-lite", date(2026, 12, 15), "batch",
              Decimal("0.022"), OPTIMIZATION, {"text": 100_000, "audio": 100_000, "output": 10_000}),
    # 2.5 Flash on its last day: $0.30 input -> 1M = 0.30
    PriceCase("2.5 Flash on its last day", "gemini-2.5-flash", date(2026, 11, 30), "standard",
              Decimal("0.30"), PRICING_TRANSCRIBED, {"text": M}),
]  # fmt: skip
