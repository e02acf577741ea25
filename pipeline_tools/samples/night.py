"""A night of similar media for the estimate's tests and benchmark: images of a few colour blocks, short
videos with scene cuts and a tone with silences, and audio clips, their sizes and lengths drawn from one
seed. Two seeds give two dates of similar (not equal) content: what a nightly job sees."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline_tools.samples.generator import PALETTE, _audio_args, _run, _scenes, _spans, _video_args


def _image(out: Path, rng: random.Random) -> None:
    import numpy as np
    from PIL import Image

    w, h = rng.choice([(640, 480), (1024, 768), (800, 800), (1280, 720)])
    cols, rows = rng.randint(1, 3), rng.randint(1, 2)
    names = list(PALETTE)
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            pixels[r * h // rows : (r + 1) * h // rows, c * w // cols : (c + 1) * w // cols] = PALETTE[
                rng.choice(names)
            ]
    Image.fromarray(pixels, "RGB").save(out, "PNG")


def generate_night(
    out_dir: Path, *, seed: int, images: int = 24, videos: int = 6, audios: int = 4
) -> list[Path]:
    """Write the night's files into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(images):
        path = out_dir / f"n{seed}_image_{i:02d}.png"
        _image(path, rng)
        paths.append(path)
    jobs = []
    for i in range(videos):
        duration = float(rng.randint(25, 70))
        path = out_dir / f"n{seed}_video_{i:02d}.mp4"
        scenes, spans = _scenes(rng, duration, 5, 15), _spans(rng, duration, rng.randint(1, 2))
        jobs.append(_video_args(path, scenes, spans, duration, audio_codec=["-c:a", "aac", "-b:a", "48k"]))
        paths.append(path)
    for i in range(audios):
        duration = float(rng.randint(20, 60))
        path = out_dir / f"n{seed}_audio_{i:02d}.mp3"
        jobs.append(_audio_args(path, _spans(rng, duration, rng.randint(1, 2)), duration))
        paths.append(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(_run, jobs))
    return paths
