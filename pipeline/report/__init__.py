"""The run report: one date's tables gathered into figures (data), drawn as self-contained HTML."""

from pipeline.report.data import ReportData, gather
from pipeline.report.html import render_html

__all__ = ["ReportData", "gather", "render_html"]
