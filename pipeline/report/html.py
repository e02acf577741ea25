"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no network."""

from __future__ import annotations

from html import escape
from typing import Any

from pipeline.report.charts import grouped_bars, hbar
from pipeline.report.data import ReportData

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; } .kpi { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.kpi b { display: block; font-size: 18px; } table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 13px; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #2a7d2a; } .bad { color: #b22; } .muted { color: #777; font-size: 12px; }
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if isinstance(v, int | float) else ""}">{escape(str(v))}</td>' for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _kpis(data: ReportData) -> str:
    run = data.run or {}
    per_hour = data.usd_per_media_hour
    cards = [
        ("items", run.get("items_total", len(data.media))),
        ("ok", run.get("items_ok", "-")),
        ("failed", run.get("items_failed", "-")),
        ("quarantined", run.get("items_quarantined", "-")),
        ("requests (all runs)", len(data.requests)),
        ("cost USD (all runs)", f"{data.cost_usd:.6f}"),
        ("media hours", f"{data.media_hours:.4f}"),
        ("USD / media hour", f"{per_hour:.6f}" if per_hour is not None else "-"),
    ]
    return (
        '<div class="kpis">'
        + "".join(f'<div class="kpi">{escape(k)}<b>{escape(str(v))}</b></div>' for k, v in cards)
        + "</div>"
    )


def _validation(data: ReportData) -> str:
    v = data.validation
    if not v:
        return '<p class="muted">no validation results stored for this run</p>'
    rows = []
    for name, t in v["tables"].items():
        failed = [f"{o['expectation']}({', '.join(o['columns'])})" for o in t["outcomes"] if not o["success"]]
        rows.append(
            [name, t["evaluated"], t["successful"], "passed" if t["success"] else "FAILED", "; ".join(failed)]
        )
    status = '<b class="ok">passed</b>' if v["success"] else '<b class="bad">failed</b>'
    head = f"<p>Great Expectations gate {status}; failure share {v['failure_share']:.0%} (limit {v['max_failure_share']:.0%}). Data Docs: <code>{escape(v.get('data_docs', ''))}</code></p>"
    return head + _table(["table", "expectations", "passed", "result", "failed expectations"], rows)


def render_html(data: ReportData) -> str:
    run = data.run or {}
    cost = [(f"{t} · {m}", float(c)) for (t, m), c in data.cost_by_type_model.items()]
    tokens_rows = [
        [
            t,
            *(
                round(per.get(k, 0.0))
                for k in ("text", "image", "video", "audio", "output_tokens", "thought_tokens")
            ),
        ]
        for t, per in data.tokens_per_media_hour.items()
    ]
    token_bars = [(f"{t}", sum(per.values())) for t, per in data.tokens_per_media_hour.items()]
    est = [
        (r["run_id"][-6:], [float(r["estimated_cost_usd"] or 0), float(r["cost_usd"] or 0)])
        for r in data.recent_runs
    ]
    est_rows = [
        [
            r["dt"],
            r["run_id"],
            r["model"],
            f"{r['estimated_cost_usd']:.6f}",
            f"{r.get('estimated_cost_upper_usd') or 0:.6f}",
            f"{r['cost_usd']:.6f}",
            r["status"],
        ]
        for r in data.recent_runs
    ]
    slow_rows = [
        [
            s["source_uri"].rsplit("/", 1)[-1],
            s["media_type"],
            s["status"],
            round(s["duration_s"] or 0, 2),
            s["requests"],
            s["latency_ms"],
        ]
        for s in data.slowest
    ]
    latency_rows = [
        [g["mode"], g["model"], g["requests"], g["p50_ms"], g["p95_ms"], g["p99_ms"]]
        for g in run.get("latency") or []
    ]
    routed_rows = [[r["requested"], r["answered"], r["requests"]] for r in run.get("routed") or []]
    routed_note = (
        f"<p>{run.get('routed_requests') or 0} request(s) of the latest run were answered by another model "
        "than the one asked (the service's routing, read from each response's modelVersion); they are "
        "priced at the answering model's rates.</p>"
    )
    warnings = "".join(f"<li>{escape(w)}</li>" for w in run.get("warnings") or [])
    sections = [
        f"<h1>Media pipeline report: dt={escape(data.dt)}</h1>",
        f'<p class="muted">{escape(data.dest)} · latest run {escape(str(run.get("run_id", "-")))} · status {escape(str(run.get("status", "-")))} · model {escape(str(run.get("model", "-")))}</p>',
        _kpis(data),
        "<h2>Cost by modality and model (USD, every run of the date)</h2>",
        hbar(cost, unit=" USD"),
        _table(["media type · model", "cost USD"], [[k, f"{v:.9f}"] for k, v in cost]),
        "<h2>Tokens per media hour</h2>",
        hbar(token_bars, unit=" tok/h"),
        _table(["media type", "text", "image", "video", "audio", "output", "thoughts"], tokens_rows),
        "<h2>Estimate vs actual, recent runs</h2>",
        grouped_bars(est, ["estimated USD", "actual USD"]),
        _table(["dt", "run", "model", "estimated USD", "upper bound USD", "actual USD", "status"], est_rows),
        f'<p class="muted">estimate basis: {escape(str(run.get("estimate_basis") or "-"))}</p>',
        "<h2>Models that answered, and request latency (latest run)</h2>",
        routed_note,
        _table(["requested", "answered by", "requests"], routed_rows),
        _table(["mode", "model", "requests", "p50 ms", "p95 ms", "p99 ms"], latency_rows),
        f"<p>thought tokens (billed as output): {int(run.get('thought_tokens') or 0):,}</p>",
        "<h2>Warnings</h2>",
        f"<ul>{warnings}</ul>" if warnings else '<p class="muted">none</p>',
        "<h2>Validation</h2>",
        _validation(data),
        "<h2>Failure and quarantine reasons</h2>",
        _table(["stage", "reason", "rows"], [list(r) for r in data.reasons]),
        "<h2>Slowest items (request latency, summed over chunks)</h2>",
        _table(["item", "type", "status", "duration s", "requests", "latency ms"], slow_rows),
    ]
    body = "\n".join(sections)
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Media pipeline report {escape(data.dt)}</title><style>{CSS}</style></head><body>{body}</body></html>'
