"""infer: every prepared chunk to Gemini (Batch Mode inline or through the Files API, or sync calls
under a rate limiter), every outcome recorded, paying once per request."""

from pipeline.infer.batch import state_name
from pipeline.infer.prompt_cache import prompt_contents
from pipeline.infer.requests import ChunkRequest, contents, generation_config, model_for, rest_request
from pipeline.infer.stage import (
    collect_batches,
    load_request,
    stage_infer,
    step_batches,
    submit_batches,
)

__all__ = [
    "ChunkRequest",
    "collect_batches",
    "contents",
    "generation_config",
    "load_request",
    "model_for",
    "prompt_contents",
    "rest_request",
    "stage_infer",
    "state_name",
    "step_batches",
    "submit_batches",
]
