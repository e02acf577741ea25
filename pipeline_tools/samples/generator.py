"""Synthetic sample media with known ground truth, for the demo and end-to-end tests.

Videos are solid-colour scenes with cuts at irregular, known times (on the frame grid, never on whole
seconds) and a tone with known silent spans; a big photo carries EXIF orientation, GPS, make and model
that preparation must remove; plus one corrupt MP4 and one text file named .mp4 that must fail.
Everything is rendered by ffmpeg's lavfi sources and Pillow, fast (low resolution and frame rate).
"""

from __future__ import annotations

import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

GROUND_TRUTH_FILE = "ground_truth.json"
VIDEO_SIZE = (640, 360)
VIDEO_FPS = 10  # cut times are multiples of 1/VIDEO_FPS, so they fall exactly on frames
AUDIO_RATE = 16000
TONE_HZ = 440

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (235, 220, 40),
    "magenta": (200, 40, 200),
    "cyan": (40, 200, 210),
    "orange": (240, 140, 20),
    "white": (240, 240, 240),
    "black": (15, 15, 15),
    "purple": (110, 40, 160),
}


class Scene(BaseModel):
    start_s: float
    end_s: float
    colour: str
    rgb: tuple[int, int, int]


class AudioSpan(BaseModel):
    start_s: float
    end_s: float
    loud: bool  # True: a steady tone; False: digital silence


class FileTruth(BaseModel):
    name: str
    media_type: str  # video | audio | image | unknown
    expected_status: str  # ok | failed
    expected_reason: str | None = None  # MediaError.reason expected when failed
    duration_s: float | None = None
    width: int | None = None  # display size (EXIF orientation applied for the photo)
    height: int | None = None
    cuts: list[float] = Field(default_factory=list)  # scene-cut times, seconds
    scenes: list[Scene] = Field(default_factory=list)
    audio_spans: list[AudioSpan] = Field(default_factory=list)
    stripped_metadata: list[str] = Field(default_factory=list)  # what preparation must remove
    blocks: list[str] = Field(default_factory=list)  # photo: colours of its blocks, upright, row by row


class GroundTruth(BaseModel):
    seed: int
    files: dict[str, FileTruth]

    def ok_files(self) -> list[FileTruth]:
        return [f for f in self.files.values() if f.expected_status == "ok"]


def _scenes(rng: random.Random, duration: float, lo: float, hi: float) -> list[Scene]:
    colours = list(PALETTE)
    rng.shuffle(colours)
    scenes: list[Scene] = []
    t = 0.0
    prev = None
    while t < duration - 1e-9:
        length = rng.uniform(lo, hi)
        end = round(t + length, 1)
        if abs(end - round(end)) < 0.05:  # never a whole second
            end = round(end + 0.3, 1)
        if duration - end < lo:  # no tiny last scene
            end = duration
        colour = next(c for c in colours[len(scenes) % len(colours) :] + colours if c != prev)
        scenes.append(Scene(start_s=round(t, 1), end_s=round(end, 1), colour=colour, rgb=PALETTE[colour]))
        prev, t = colour, end
    return scenes


def _spans(rng: random.Random, duration: float, n_silent: int) -> list[AudioSpan]:
    """Alternating loud/silent spans, silent ones 3-8 s long at irregular times."""
    edges: list[float] = []
    slot = duration / (n_silent + 1)
    for i in range(n_silent):
        start = round((i + 0.5) * slot + rng.uniform(0, slot * 0.3), 1)
        end = round(start + rng.uniform(3, 8), 1)
        edges += [start, end]
    spans: list[AudioSpan] = []
    t = 0.0
    for i in range(0, len(edges), 2):
        spans.append(AudioSpan(start_s=t, end_s=edges[i], loud=True))
        spans.append(AudioSpan(start_s=edges[i], end_s=edges[i + 1], loud=False))
        t = edges[i + 1]
    spans.append(AudioSpan(start_s=t, end_s=duration, loud=True))
    return spans


def _tone_filter(spans: list[AudioSpan]) -> str:
    silent = "+".join(f"between(t\\,{s.start_s:.3f}\\,{s.end_s:.3f})" for s in spans if not s.loud) or "0"
    return f"volume=volume=0:enable='{silent}'"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "0x{:02X}{:02X}{:02X}".format(*rgb)


def _video_args(
    out: Path, scenes: list[Scene], spans: list[AudioSpan], duration: float, *, audio_codec: list[str]
) -> list[str]:
    w, h = VIDEO_SIZE
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"]
    for s in scenes:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"color=c={_hex(s.rgb)}:s={w}x{h}:r={VIDEO_FPS}:d={s.end_s - s.start_s:.3f}",
        ]
    args += [
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={TONE_HZ}:sample_rate={AUDIO_RATE}:duration={duration:.3f}",
    ]
    n = len(scenes)
    # A box crosses every scene, as something always moves in real footage: the samples are video, not
    # slides (static-content detection must not lower their frame rate). It covers ~2% of the frame and
    # is always fully inside it, so a scene's mean (dominant) colour stays the same while it moves.
    side = h // 5
    moving_box = (
        f"color=c=gray:s={side}x{side}:r={VIDEO_FPS}:d={duration:.3f}[box];"
        f"[scenes][box]overlay=x='mod(t*{w // 8}\\,{w - side})':y={h // 2 - side // 2}:eval=frame:shortest=1,"
    )
    graph = (
        "".join(f"[{i}:v]" for i in range(n))
        + f"concat=n={n}:v=1:a=0[scenes];"
        + moving_box
        + "format=yuv420p[v];"
    )
    graph += f"[{n}:a]{_tone_filter(spans)}[a]"
    args += [
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "stillimage",
        "-g",
        str(VIDEO_FPS * 5),
        *audio_codec,
        "-t",
        f"{duration:.3f}",
        str(out),
    ]
    return args


def _audio_args(out: Path, spans: list[AudioSpan], duration: float) -> list[str]:
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={TONE_HZ}:sample_rate={AUDIO_RATE}:duration={duration:.3f}",
        "-af",
        _tone_filter(spans),
        "-c:a",
        "libmp3lame",
        "-b:a",
        "48k",
        str(out),
    ]


def _run(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode('utf-8', 'replace')[-800:]}")


def _photo(out: Path, rng: random.Random) -> FileTruth:
    """4000x3000 stored, EXIF orientation 6 (display 3000x4000), 3x4 blocks of colour, GPS/make/model."""
    import numpy as np
    from PIL import Image

    stored_w, stored_h = 4000, 3000
    names = list(PALETTE)
    rng.shuffle(names)
    # Blocks as the viewer sees them (upright, 3000 wide x 4000 high): 3 columns x 4 rows.
    cols, rows = 3, 4
    grid = [[names[(r * cols + c) % len(names)] for c in range(cols)] for r in range(rows)]
    upright = np.zeros((4000, 3000, 3), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            upright[r * 1000 : (r + 1) * 1000, c * 1000 : (c + 1) * 1000] = PALETTE[grid[r][c]]
    # Orientation 6 means "rotate 90 degrees clockwise to display": store the upright picture turned
    # 90 degrees counter-clockwise.
    stored = np.rot90(upright, k=1)
    assert stored.shape[:2] == (stored_h, stored_w)
    im = Image.fromarray(np.ascontiguousarray(stored), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SampleCam"  # Make
    exif[0x0110] = "Model X-1"  # Model
    exif[0x0131] = "pipeline_tools.samples"  # Software
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 33.1)})
    im.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return FileTruth(
        name=out.name,
        media_type="image",
        expected_status="ok",
        width=3000,
        height=4000,
        stripped_metadata=["exif:Orientation", "exif:Make", "exif:Model", "exif:GPSInfo"],
        blocks=[name for row in grid for name in row],
    )


def generate_samples(out_dir: Path, *, seed: int = 7) -> GroundTruth:
    """Write the sample set and `ground_truth.json` into out_dir; return the ground truth."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    a_dur, b_dur, tones_dur = 200.0, 150.0, 60.0
    a_scenes, b_scenes = _scenes(rng, a_dur, 8, 31), _scenes(rng, b_dur, 6, 25)
    a_spans, b_spans, t_spans = _spans(rng, a_dur, 3), _spans(rng, b_dur, 2), _spans(rng, tones_dur, 2)

    jobs = [
        _video_args(
            out_dir / "scenes_a.mp4", a_scenes, a_spans, a_dur, audio_codec=["-c:a", "aac", "-b:a", "48k"]
        ),
        _video_args(
            out_dir / "scenes_b.mkv", b_scenes, b_spans, b_dur, audio_codec=["-c:a", "libopus", "-b:a", "32k"]
        ),
        _audio_args(out_dir / "tones.mp3", t_spans, tones_dur),
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(_run, jobs))
    photo = _photo(out_dir / "photo_large.jpg", rng)

    # An MP4 header (ftyp) followed by garbage: sniffs as video, ffprobe finds no moov.
    garbage = random.Random(seed + 1).randbytes(64 * 1024)
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomavc1"
    (out_dir / "broken.mp4").write_bytes(ftyp + garbage)
    (out_dir / "notes.mp4").write_text(
        "Meeting notes\n- this is a text file that someone named .mp4\n- the pipeline must reject it\n"
    )

    def video_truth(name: str, scenes: list[Scene], spans: list[AudioSpan], duration: float) -> FileTruth:
        return FileTruth(
            name=name,
            media_type="video",
            expected_status="ok",
            duration_s=duration,
            width=VIDEO_SIZE[0],
            height=VIDEO_SIZE[1],
            cuts=[s.start_s for s in scenes[1:]],
            scenes=scenes,
            audio_spans=spans,
        )

    files = [
        video_truth("scenes_a.mp4", a_scenes, a_spans, a_dur),
        video_truth("scenes_b.mkv", b_scenes, b_spans, b_dur),
        FileTruth(
            name="tones.mp3",
            media_type="audio",
            expected_status="ok",
            duration_s=tones_dur,
            audio_spans=t_spans,
        ),
        photo,
        FileTruth(
            name="broken.mp4",
            media_type="video",
            expected_status="failed",
            expected_reason="unreadable_container",
        ),
        FileTruth(
            name="notes.mp4", media_type="unknown", expected_status="failed", expected_reason="not_media"
        ),
    ]
    truth = GroundTruth(seed=seed, files={f.name: f for f in files})
    (out_dir / GROUND_TRUTH_FILE).write_text(truth.model_dump_json(indent=2))
    return truth
