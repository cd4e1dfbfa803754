"""Click-to-answer of the plugin in the stock QGIS desktop (Debian's QGIS, system Python only).

Builds the plugin zip, starts the real QGIS desktop under xvfb in a fresh profile
(tests/qgis/desktop.py), installs the zip with QGIS's plugin installer, opens the
panel, then clicks N random points of the territory with the plugin's map tool
and times each click until the panel's answer is there (lookup, HTML, marker,
zone outline). Target: < 20 ms. Optionally saves screenshots (``--shots DIR``).

Usage (from the checkout, with Debian's python3, not the venv)::

    /usr/bin/python3 benchmarks/plugin_desktop.py [--clicks 300] [--shots docs/img]

Results: ``benchmarks/results/plugin_desktop.txt``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--shots", type=Path, default=None, help="dossier des captures d'écran")
    parser.add_argument("--zip", type=Path, default=None, help="zip de l'extension (sinon construit)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "plugin_desktop.txt")
    args = parser.parse_args(argv)

    from tests.qgis.desktop import missing_tools, run_desktop

    why = missing_tools()
    if why:
        print(f"impossible : {why}")
        return 2
    work = Path(tempfile.mkdtemp(prefix="cq-geo-bench-desktop-"))
    zip_path = args.zip
    if zip_path is None:
        sys.path.insert(0, str(ROOT / "scripts"))
        import build_plugin

        try:
            zip_path = build_plugin.build(work / "cq_geo_qgis.zip")
        except (SystemExit, Exception):  # noqa: BLE001 - no registry: without the extras
            zip_path = build_plugin.build(work / "cq_geo_qgis.zip", with_vendor=False)
    config = {"zip": str(zip_path), "clicks": args.clicks,
              "steps": ["install", "load_layers", "open_panel", "click_denain", "benchmark_clicks", "quit"]}
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
        config["shots"] = str(args.shots)
    start = time.perf_counter()
    run = run_desktop(config, work, timeout=900)
    report = run.report
    times = [t * 1000 for t in report.get("timings", {}).get("clicks_s", [])]
    if run.returncode != 0 or not times:
        print(f"échec : code {run.returncode}\n{run.stderr[-2000:]}")
        return 1
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    lines = [
        "Extension QGIS : du clic sur la carte à la réponse dans le panneau (QGIS desktop réel, Python de Debian)",
        f"date : {time.strftime('%Y-%m-%d %H:%M')}, machine : {platform.machine()} {platform.processor() or ''}, "
        f"{len(times)} clics ({report.get('answered_clicks')} réponses), durée totale {time.perf_counter() - start:.0f} s",
        f"médiane {statistics.median(times):.1f} ms, p90 {p(0.9):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"max {times[-1]:.1f} ms (cible < 20 ms)",
        f"premier clic à Denain : {report['timings'].get('click_denain_s', float('nan')) * 1000:.1f} ms ; "
        f"installation du zip : {report['timings'].get('install_s', float('nan')):.2f} s",
        "parties (appels directs, mêmes points) : Territory.lookup médiane "
        f"{statistics.median(report['timings']['lookup_s']) * 1000:.2f} ms ; mise à jour du panneau (recherche, "
        f"HTML, repère, contour) médiane {statistics.median(report['timings']['show_s']) * 1000:.1f} ms, "
        f"p90 {sorted(report['timings']['show_s'])[int(0.9 * len(report['timings']['show_s']))] * 1000:.1f} ms",
        f"erreurs Python : {len(report.get('python_errors', []))}, entrées critiques du journal : "
        f"{len(report.get('critical_log', []))}, code de sortie de QGIS : {run.returncode}",
    ]
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
