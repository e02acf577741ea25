"""Synthetic sample media with known ground truth (demo and end-to-end tests)."""

from pipeline_tools.samples.generator import AudioSpan, FileTruth, GroundTruth, Scene, generate_samples
from pipeline_tools.samples.night import generate_night

__all__ = ["AudioSpan", "FileTruth", "GroundTruth", "Scene", "generate_night", "generate_samples"]
