"""Small inline SVG charts (no JavaScript, no CDN: the report opens offline and prints well)."""

from __future__ import annotations

from html import escape

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2")


def hbar(values: list[tuple[str, float]], *, unit: str = "", width: int = 640, bar_h: int = 22) -> str:
    """Horizontal bars, one per label, the value printed at the bar's end."""
    if not values:
        return '<p class="empty">no data</p>'
    top = max(v for _, v in values) or 1.0
    label_w, pad = 220, 90
    height = bar_h * len(values) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(values):
        y = 4 + i * bar_h
        w = (width - label_w - pad) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h * 0.68:.1f}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h * 0.68:.1f}" font-size="12">{_fmt(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(
    groups: list[tuple[str, list[float]]], series: list[str], *, width: int = 720, height: int = 220
) -> str:
    """Vertical grouped bars (e.g. estimate vs actual per run) with a legend."""
    if not groups:
        return '<p class="empty">no data</p>'
    top = max((v for _, vs in groups for v in vs), default=0) or 1.0
    left, bottom, legend_h = 60, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - legend_h
    slot = plot_w / len(groups)
    bar_w = max(2.0, slot * 0.8 / len(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for s, name in enumerate(series):
        parts.append(f'<rect x="{left + s * 130}" y="2" width="12" height="12" fill="{PALETTE[s]}"/>')
        parts.append(f'<text x="{left + s * 130 + 16}" y="12" font-size="12">{escape(name)}</text>')
    base = legend_h + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#888"/>')
    parts.append(
        f'<text x="{left - 4}" y="{legend_h + 10}" text-anchor="end" font-size="11">{_fmt(top)}</text>'
    )
    parts.append(f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="11">0</text>')
    for g, (label, values) in enumerate(groups):
        x0 = left + g * slot + slot * 0.1
        for s, value in enumerate(values):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{base - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{PALETTE[s]}"><title>{escape(label)} {escape(series[s])}: {_fmt(value)}</title></rect>'
            )
        parts.append(
            f'<text x="{left + g * slot + slot / 2:.1f}" y="{base + 14}" text-anchor="middle" font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.6f}"
