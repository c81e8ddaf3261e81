"""Draws bench/results/chart.svg from bench/results/*.json (no plotting
library needed: a hand-made SVG bar chart, readable on GitHub)."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "bench", "results")


def bars(title, items, unit, x0, y0, width=420):
    top = max(v for _, v in items) or 1
    parts = [f'<text x="{x0}" y="{y0}" font-size="14" font-weight="bold">{title}</text>']
    for i, (label, v) in enumerate(items):
        y = y0 + 14 + i * 26
        w = max(2, width * v / top)
        color = "#2b7bb9" if label.startswith("fjord") else "#b0b0b0"
        parts.append(f'<text x="{x0}" y="{y + 15}" font-size="12">{label}</text>')
        parts.append(f'<rect x="{x0 + 210}" y="{y + 3}" width="{w:.1f}" height="16" fill="{color}"/>')
        parts.append(f'<text x="{x0 + 215 + w:.1f}" y="{y + 15}" font-size="12">{v:,.1f} {unit}</text>')
    return parts, 14 + len(items) * 26 + 30


def main():
    parts, y = [], 24
    http_path = os.path.join(RES, "http.json")
    if os.path.exists(http_path):
        http = json.load(open(http_path))["results"]
        p, h = bars("GET /hello, requests per second at 64 connections (higher is better)", [(k, v["rps"]) for k, v in http.items()], "req/s", 10, y)
        parts += p
        y += h
    launcher_path = os.path.join(RES, "launcher.json")
    if os.path.exists(launcher_path):
        res = json.load(open(launcher_path))["results"]
        p, h = bars("exec to all workers serving, ms (lower is better)", [(k, v["start_ms"]) for k, v in res.items()], "ms", 10, y)
        parts += p
        y += h
        p, h = bars("master RSS, MiB (lower is better)", [(k, v["master_rss_mib"]) for k, v in res.items()], "MiB", 10, y)
        parts += p
        y += h
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="820" height="{y}" font-family="sans-serif">',
           f'<rect width="820" height="{y}" fill="white"/>'] + parts + ["</svg>"]
    with open(os.path.join(RES, "chart.svg"), "w") as f:
        f.write("\n".join(svg) + "\n")
    print(f"wrote {os.path.join(RES, 'chart.svg')}")


if __name__ == "__main__":
    main()
