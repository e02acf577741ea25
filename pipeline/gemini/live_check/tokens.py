"""`tokens`: media made here, sent alone with the one-word prompt at every media resolution the model's
family takes (per part on 3.x / 4.x, ULTRA_HIGH for images included; request-wide on 2.x), through the
pipeline's own request builders. Expected: the catalog's TokenRules per modality; observed: the answer's
`usage_metadata.prompt_tokens_details`. The TEXT row shows whether the response schema the requests carry
counts as prompt tokens (the catalog counts the prompt only)."""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from pipeline.account import Usage
from pipeline.catalog import model_info, token_rules
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.media import Clip, MediaSet
from pipeline.gemini.live_check.rows import Row, compared
from pipeline.gemini.live_check.target import SMALL_OUTPUT_TOKENS, Planned, Target, generate, probe_task
from pipeline.infer import ChunkRequest, contents, generation_config
from pipeline.models import Track
from pipeline.tasks import track_prompt

MEDIA_MODALITIES = ("IMAGE", "VIDEO", "AUDIO", "DOCUMENT")
VIDEO_FPS = 1.0  # the service's default sampling rate: the request carries no videoMetadata


@dataclass(frozen=True)
class TokenCase:
    clip: Clip
    resolution: str
    per_part: bool  # the resolution goes on the part (3.x, 4.x) or on the whole request (2.x)
    expected: dict[str, int]  # media tokens per modality, by the catalog

    @property
    def label(self) -> str:
        if self.per_part and not self.clip.visual:
            return f"{self.clip.label} (no media resolution on sound)"  # media_part sets none on audio
        where = "per part" if self.per_part else "request-wide"
        return f"{self.clip.label} @ {self.resolution.removeprefix('MEDIA_RESOLUTION_')} ({where})"


def token_cases(target: Target, media: MediaSet) -> list[TokenCase]:
    family = model_info(target.model).rules
    rules = family.tokens
    resolutions = family.part_resolutions or family.request_resolutions
    per_part, usual = family.per_part_resolution, target.media_resolution
    video = [r for r in resolutions if r in rules.video_frame]  # no frame rule: the catalog claims nothing
    image_size = (media.image.width, media.image.height)
    cases = [
        TokenCase(media.image, r, per_part, {"IMAGE": rules.image_tokens(*image_size, r)})
        for r in resolutions
    ]
    cases += [TokenCase(media.video, r, per_part, _video_tokens(target, media.video, r)) for r in video]
    # The catalog bills sound at one rate whatever the resolution: sound is sent once, at the pipeline's.
    tone, audio = media.video_with_tone, media.audio
    cases.append(TokenCase(tone, usual, per_part, _video_tokens(target, tone, usual)))
    cases.append(TokenCase(audio, usual, per_part, {"AUDIO": rules.audio_tokens(audio.duration_s)}))
    return cases


def _video_tokens(target: Target, clip: Clip, resolution: str) -> dict[str, int]:
    rules = token_rules(target.model)
    out = {"VIDEO": rules.video_tokens(clip.duration_s, VIDEO_FPS, resolution)}
    if clip.sound:
        out["AUDIO"] = rules.audio_tokens(clip.duration_s)
    return out


def _prompt_tokens(target: Target) -> int:
    return token_rules(target.model).text_tokens(track_prompt(probe_task().prompt, Track.ALL))


def plan_tokens(target: Target, media: MediaSet) -> list[Planned]:
    text = _prompt_tokens(target)
    return [
        Planned(
            "tokens",
            target.model,
            Usage(
                text=text,
                image=case.expected.get("IMAGE", 0),
                video=case.expected.get("VIDEO", 0),
                audio=case.expected.get("AUDIO", 0),
                output=SMALL_OUTPUT_TOKENS,
            ),
        )
        for case in token_cases(target, media)
    ]


def _request(case: TokenCase, model: str) -> ChunkRequest:
    clip = case.clip
    return ChunkRequest(
        key=f"live-check {case.label}",
        source_uri=f"live-check://{clip.label.replace(' ', '-')}",
        chunk_index=0,
        chunk_start_s=0.0,
        chunk_duration_s=clip.duration_s,
        mime_type=clip.mime,
        data=clip.data,
        video_fps=VIDEO_FPS,
        model=model,
        track=Track.ALL,
        media_resolution=case.resolution,
    )


def _with_resolution(sent: list[types.Content], case: TokenCase) -> list[types.Content]:
    """The resolution under test on the media part, also where requests leave it out because the catalog
    bills it as unset (pipeline.infer.requests.part_resolution: a 3.x video at LOW): this row is the
    check of that claim."""
    if case.per_part and case.clip.visual:
        level = types.PartMediaResolution(level=types.PartMediaResolutionLevel(case.resolution))
        for part in sent[0].parts or []:
            if part.inline_data is not None or part.file_data is not None:
                part.media_resolution = level
    return sent


def check_tokens(client: GeminiClient, target: Target, media: MediaSet) -> list[Row]:
    task, model = probe_task(), target.model
    rows: list[Row] = []
    text_row: Row | None = None
    for case in token_cases(target, media):
        request = _request(case, model)
        config = generation_config(
            task, model, media_resolution=case.resolution, max_output_tokens=SMALL_OUTPUT_TOKENS
        )
        got = generate(client, model, _with_resolution(contents(task, request, model), case), config)
        if not got.ok or got.value is None:
            expected = ", ".join(f"{m} {n}" for m, n in case.expected.items())
            rows.append(compared("tokens", case.label, expected, got.label(), got.error))
            continue
        usage = Usage.from_usage_metadata(got.value.usage_metadata)
        observed = {
            "IMAGE": usage.image,
            "VIDEO": usage.video,
            "AUDIO": usage.audio,
            "DOCUMENT": usage.document,
        }
        for modality in MEDIA_MODALITIES:
            if modality in case.expected or observed[modality]:
                rows.append(
                    compared(
                        "tokens",
                        f"{case.label}: {modality}",
                        case.expected.get(modality, 0),
                        observed[modality],
                    )
                )
        if text_row is None:  # the same prompt and schema every time: one row says it
            text_row = compared(
                "tokens",
                f"TEXT of the prompt {task.prompt!r} (+ response schema, if the service counts it)",
                _prompt_tokens(target),
                usage.text,
                f"prompt tokens {usage.prompt_total} in all on {case.label}",
            )
    return rows + ([text_row] if text_row is not None else [])
