"""discover: the objects of one date's partition, with what their first bytes say they are."""

from pipeline.discover.listing import date_prefix, discover, discover_with_heads
from pipeline.discover.stage import stage_discover

__all__ = ["date_prefix", "discover", "discover_with_heads", "stage_discover"]
