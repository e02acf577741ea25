"""python -m pipeline_tools.samples OUT_DIR [--seed N]: write the sample media and ground_truth.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline_tools.samples.generator import GROUND_TRUTH_FILE, generate_samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline_tools.samples", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    truth = generate_samples(args.out_dir, seed=args.seed)
    for f in truth.files.values():
        print(
            f"{f.name:20s} {f.media_type:7s} {f.expected_status:6s} duration={f.duration_s} cuts={len(f.cuts)}"
        )
    print(f"ground truth: {args.out_dir / GROUND_TRUTH_FILE}")


if __name__ == "__main__":
    main()
