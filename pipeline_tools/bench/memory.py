"""Peak memory of probe + plan + prepare for one source, measured in a fresh process.

Run as `python -m pipeline_tools.bench.memory SRC OUT_DIR`: prints JSON with the peak RSS of this Python
process and of its largest ffmpeg/ffprobe child (getrusage), and their sum, an upper bound of what
preparing the source holds at once (the two peaks need not coincide). The bench also polls the process
tree's summed RSS while it runs (run.peak_memory).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from pipeline.config import Settings


def _mb(kilobytes: int) -> float:
    # Linux reports ru_maxrss in KiB, macOS in bytes
    return kilobytes / 1024 / (1024 if sys.platform == "darwin" else 1)


def own_peak_mb() -> float:
    """This process's peak RSS. On Linux VmHWM, not ru_maxrss: ru_maxrss survives fork + exec, so a
    process started by a big parent would report the parent's size."""
    try:
        for line in open("/proc/self/status").read().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(src: str, out_dir: str) -> dict[str, Any]:
    from pipeline.media import probe
    from pipeline.plan import plan_for_run
    from pipeline.prepare import prepare_media
    from pipeline.tasks import DESCRIBE

    settings = Settings()
    start = time.perf_counter()
    result = probe(src)
    plan = plan_for_run(src, result, settings, DESCRIBE)
    chunks = prepare_media(src, plan, result, out_dir)
    own = own_peak_mb()
    child = _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {
        "python_peak_mb": round(own, 1),
        "ffmpeg_peak_mb": round(child, 1),
        "peak_mb": round(own + child, 1),
        "chunks": len(chunks),
        "seconds": round(time.perf_counter() - start, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
