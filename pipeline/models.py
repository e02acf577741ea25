"""Data contracts passed between stages. Small, typed, JSON-serialisable (they travel as manifests)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, computed_field


class MediaType(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    IMAGE = "image"
    UNKNOWN = "unknown"


class ItemStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


class SourceObject(BaseModel):
    """One object found by discover under the run's date partition."""

    uri: str
    key: str
    bytes: int
    etag: str
    sha256: str
    sniffed_type: MediaType = MediaType.UNKNOWN
    sniffed_mime: str | None = None


class StreamInfo(BaseModel):
    index: int
    codec_type: str  # video | audio | subtitle | data | attachment
    codec_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    attached_pic: bool = False
    default: bool = False  # disposition default: the track a player picks (audio, subtitles)
    rotation: int = 0
    avg_frame_rate: float | None = None
    pix_fmt: str | None = None
    # Colour facts of a video stream as ffprobe reads them (None when untagged): pipeline.media.colour
    # tells PQ ('smpte2084') and HLG ('arib-std-b67') HDR, and BT.2020 wide gamut, from SDR.
    color_transfer: str | None = None
    color_primaries: str | None = None
    color_space: str | None = None
    bit_depth: int | None = None
    # Pixel width / height on screen (anamorphic DV, DVD, HDV are not 1:1); the display size has it applied
    sample_aspect_ratio: float = 1.0


class ProbeResult(BaseModel):
    """What ffprobe read from a source, reduced to what planning needs."""

    media_type: MediaType
    format_name: str
    duration_s: float | None = None
    width: int | None = None  # display size: rotation already applied
    height: int | None = None
    has_video: bool = False
    has_audio: bool = False
    video_stream: int | None = None  # index of the chosen video stream (not cover art)
    audio_stream: int | None = None
    rotation: int = 0
    streams: list[StreamInfo] = Field(default_factory=list)
    # Video only, from a cheap keyframe look (pipeline.media.profile); None when not measured.
    keyframe_interval_s: float | None = None  # longest gap between keyframes near the start
    motion: float | None = None  # share of sampled picture pairs (~1-2 s apart) that visibly changed
    # Which library decodes the source for preparation: "ffmpeg", or "pillow" (stills and animations
    # Pillow reads: HEIC, BigTIFF, animated WebP, ...; pipeline.media.still).
    decoder: str = "ffmpeg"
    # An animated image (GIF, APNG, animated WebP): "moving" is sent as a video, "still" (all frames
    # alike) as one picture; None for everything else.
    animation: str | None = None
    # Set by media.verify_decodable, from what really decodes. A truncated file: `duration_s` is where its
    # data ends (what is planned and answered), `claimed_duration_s` what its container claims.
    claimed_duration_s: float | None = None
    # A stream that starts between keyframes (a TS cut mid-GOP): its first picture, on the source's
    # timeline; the picture is black before it, the sound is kept from 0 s. None: a picture from 0 s.
    picture_start_s: float | None = None
    # The text subtitle track (SRT, ASS/SSA, mov_text, WebVTT) sent as context where the task asks for
    # it (pipeline.media.subtitles): the default one, else the first; None when there is none.
    subtitle_stream: int | None = None

    def tracks(self, codec_type: str) -> int:
        """How many tracks of this kind ('audio', 'subtitle') the source has."""
        return sum(1 for s in self.streams if s.codec_type == codec_type and not s.attached_pic)

    def video_info(self) -> StreamInfo | None:
        """The chosen video stream's StreamInfo (None for audio, or when it was not listed)."""
        return next((s for s in self.streams if s.index == self.video_stream), None)


class ChunkSpec(BaseModel):
    """One planned piece of a source, on the source's timeline (seconds)."""

    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class PrepareSettings(BaseModel):
    """How a source is downscaled before it is sent. Part of the content fingerprint.

    No defaults of its own: every value comes from the run's Settings (`Settings.prepare_settings`), so
    the defaults live in one place and an equal configuration always gives an equal fingerprint."""

    video_fps: float
    max_height: int
    keep_audio: bool
    audio_sample_rate: int
    audio_bitrate: str
    image_max_px: int
    media_resolution: str
    # Decode keyframes only when they are at least video_fps dense (planning turns it off otherwise).
    fast: bool
    # Frame rate for static pictures (slides, screen recordings); None keeps video_fps for everything.
    static_fps: float | None
    # A video's sound goes out as its own request to this (cheaper) model; None keeps it in the video
    # request. In a plan it is set only where the split applies (a video with sound kept, another model).
    audio_model: str | None


class TokenCount(BaseModel):
    """Tokens of one or more requests per prompt modality, plus the answer and the thoughts: the one shape
    of a token count, whether estimated before sending (TokenEstimate) or billed after (Usage)."""

    text: int = 0
    image: int = 0
    video: int = 0
    audio: int = 0
    document: int = 0
    output: int = 0
    thoughts: int = 0

    @property
    def prompt_total(self) -> int:
        return self.text + self.image + self.video + self.audio + self.document


class TokenEstimate(TokenCount):
    """Before sending: prompt tokens are exact by the family's rules; answer and thought tokens are an
    expectation (`output`, `thoughts`) with an upper bound (`*_max`)."""

    output_max: int = 0
    thoughts_max: int = 0


class MediaPlan(BaseModel):
    """Chunks, downscale settings and estimate for one source."""

    source_uri: str
    media_type: MediaType
    duration_s: float | None
    chunks: list[ChunkSpec]
    settings: PrepareSettings
    estimate: TokenEstimate  # the requests to the run's model
    sound_estimate: TokenEstimate | None = None  # the sound requests to settings.audio_model, when split
    estimated_cost_usd: Decimal = Decimal(0)  # expected
    estimated_cost_upper_usd: Decimal = Decimal(0)  # with every answer and thought at its upper bound

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_estimate(self) -> TokenEstimate:
        """Every request of the source, whichever model it goes to (what its usage adds up to)."""
        sound = self.sound_estimate or TokenEstimate()
        return TokenEstimate(
            **{k: getattr(self.estimate, k) + getattr(sound, k) for k in TokenEstimate.model_fields}
        )


class Track(StrEnum):
    """What of a chunk a request carries."""

    ALL = "all"  # everything the chunk has (picture and sound, or the one it has)
    PICTURE = "picture"  # a video's picture; its sound is a SOUND request of its own
    SOUND = "sound"  # a video's sound track


class PreparedChunk(BaseModel):
    """A chunk ready to send: its bytes live at `path` (local) or `uri` (staging)."""

    index: int
    start_s: float  # real start on the source's timeline, as ffprobe reads the output
    duration_s: float  # real duration as ffprobe reads the output
    mime_type: str
    bytes: int
    path: str | None = None
    uri: str | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    track: Track = Track.ALL
    # The subtitle text part sent with this chunk (cues overlapping it, times on the source's timeline),
    # None when there is none or the task does not ask for it (pipeline.media.subtitles).
    subtitles: str | None = None


class Usage(TokenCount):
    """Billed tokens of one response, per modality (from `usage_metadata`); `cached` of the prompt were
    read from a context cache."""

    cached: int = 0
    cached_audio: int = 0

    @classmethod
    def from_usage_metadata(cls, meta: Any) -> Usage:
        """Read a google-genai `GenerateContentResponseUsageMetadata` (or None)."""
        if meta is None:
            return cls()
        by_modality: dict[str, int] = {}
        for detail in meta.prompt_tokens_details or []:
            name = str(getattr(detail.modality, "value", detail.modality) or "TEXT").upper()
            by_modality[name] = by_modality.get(name, 0) + int(detail.token_count or 0)
        if not by_modality and meta.prompt_token_count:
            by_modality["TEXT"] = int(meta.prompt_token_count)
        cached_audio = 0
        for detail in meta.cache_tokens_details or []:
            if str(getattr(detail.modality, "value", detail.modality)).upper() == "AUDIO":
                cached_audio += int(detail.token_count or 0)
        return cls(
            text=by_modality.get("TEXT", 0),
            image=by_modality.get("IMAGE", 0),
            video=by_modality.get("VIDEO", 0),
            audio=by_modality.get("AUDIO", 0),
            document=by_modality.get("DOCUMENT", 0),
            cached=int(meta.cached_content_token_count or 0),
            cached_audio=cached_audio,
            output=int(meta.candidates_token_count or 0),
            thoughts=int(meta.thoughts_token_count or 0),
        )
