"""Benchmark the photo pipeline against the common Pillow recipe and the decode floor.

Run: .venv/bin/python tests/perf/photo_pipeline.py [--runs 15]

Subjects: a 12-MP phone JPEG made at start-up (see `make_twelve_mp_jpeg`), the shared Nokia
JPEG as it is, and the shared Nokia HEIF. For each, three timings interleaved run by run:
  ours    media.process_photo: sniff, header checks, EXIF, orientation, both derivatives, encode
  common  Image.open -> ImageOps.exif_transpose -> thumbnail(1600) -> save -> thumbnail(320) -> save
  floor   decode at the reduced JPEG scale (draft), one resize to the display size with the same
          filter as ours, one encode: the least work that yields the display image
Memory of `ours`: tracemalloc's peak (Python objects only: Pillow's pixel buffers are allocated
outside Python and are not seen), and the peak RSS of a fresh process that runs `ours` once
(VmHWM after a clear_refs reset; ru_maxrss where /proc is missing).
Prints a table, then the same figures as JSON.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from media import process_photo  # noqa: E402
from media.derive import DISPLAY_QUALITY, RESAMPLE, THUMBNAIL_QUALITY, fit  # noqa: E402

GOAL_SPEEDUP = 3.0
GOAL_FLOOR_RATIO = 1.25
GOAL_PEAK_MB = 120.0
TWELVE_MP = (4000, 3000)
EXIF_ORIENTATION = 0x0112


def photos_dir() -> Path:
    """The shared real photos, found like the tests find them."""
    override = os.environ.get("SHARED_PHOTOS_DIR")
    folder = Path(override) if override else REPO_ROOT.parent / "shared" / "photos"
    if not (folder / "mobile").is_dir():
        sys.exit(f"shared photos not found at {folder} (set SHARED_PHOTOS_DIR)")
    return folder


def make_twelve_mp_jpeg(photos: Path, folder: Path) -> Path:
    """A 4000×3000 phone-like JPEG with EXIF orientation 6 and GPS, made once per run."""
    # The shared Nokia JPEG is 4608×1976 (9.1 MP), so a 4000×3000 frame made from it would be
    # upscaled and stretched, and decode faster than a real 12-MP photo. The same phone's HEIF
    # is a real 16-MP frame: its pixels, turned to the sensor's landscape layout and reduced to
    # 4000×3000, are saved at quality 95 (the Nokia JPEG's own quantisation) with the Nokia
    # JPEG's EXIF (camera, time, GPS) and orientation 6, as phones store portrait shots.
    portrait = pillow_heif.open_heif(photos / "mobile" / "HMD_Nokia_8.3_5G.heif").to_pillow()
    landscape = portrait.transpose(Image.Transpose.ROTATE_90).resize(
        TWELVE_MP, Image.Resampling.LANCZOS
    )
    with Image.open(photos / "mobile" / "HMD_Nokia_8.3_5G.jpg") as nokia:
        exif = nokia.getexif()
    exif[EXIF_ORIENTATION] = 6
    target = folder / "phone_12mp.jpg"
    landscape.save(target, "JPEG", quality=95, exif=exif.tobytes())
    return target


def ours(data: bytes) -> None:
    """The pipeline under test."""
    process_photo(data)


def common(data: bytes) -> None:
    """What most code does: full decode, transpose, two thumbnail() calls, two encodes."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((1600, 1600))
        image.save(io.BytesIO(), "JPEG", quality=DISPLAY_QUALITY)
        image.thumbnail((320, 320))
        image.save(io.BytesIO(), "JPEG", quality=THUMBNAIL_QUALITY)


def floor(data: bytes) -> None:
    """Reduced-scale decode, one resize, one encode: nothing else."""
    with Image.open(io.BytesIO(data)) as image:
        size = fit(image.size, 1600)
        image.draft("RGB", size)
        image.resize(size, RESAMPLE).save(io.BytesIO(), "JPEG", quality=DISPLAY_QUALITY)


RECIPES: dict[str, Callable[[bytes], None]] = {"ours": ours, "common": common, "floor": floor}


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def time_recipes(data: bytes, runs: int) -> dict[str, dict[str, float]]:
    """Median and p95 in ms per recipe; the recipes alternate so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in RECIPES}
    for recipe in RECIPES.values():
        recipe(data)  # warm-up: imports, caches, first-touch allocations
    for _ in range(runs):
        for name, recipe in RECIPES.items():
            gc.collect()
            start = time.perf_counter()
            recipe(data)
            samples[name].append((time.perf_counter() - start) * 1000)
    return {
        name: {"median_ms": statistics.median(values), "p95_ms": percentile(values, 0.95)}
        for name, values in samples.items()
    }


def tracemalloc_peak_mb(data: bytes) -> float:
    """Peak of Python-level allocations during one `ours` run."""
    gc.collect()
    tracemalloc.start()
    ours(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def fresh_process_rss(path: Path) -> dict[str, float]:
    """ru_maxrss of a new interpreter: after imports and reading, and after one `ours` run."""
    result = subprocess.run(
        [sys.executable, __file__, "--measure-rss", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def measure_rss(path: Path) -> None:
    """Child mode: print RSS (MB) after imports and reading, and the peak during one `ours` run."""
    # Linux keeps ru_maxrss across fork and exec, so a child would report its parent's peak; the
    # per-address-space VmHWM, reset through clear_refs, is used where /proc has them.
    data = path.read_bytes()
    baseline = _proc_status_mb("VmRSS")
    reset = _reset_peak_rss()
    ours(data)
    peak = _proc_status_mb("VmHWM") if reset else None
    if baseline is None or peak is None:
        baseline = peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "added_mb": peak - baseline}))


def _proc_status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status in MB, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux ≥ 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def describe(path: Path) -> str:
    """Size, megapixels and byte count of a subject."""
    with Image.open(path) as image:
        width, height = image.size
    return f"{width}×{height} ({width * height / 1e6:.1f} MP, {path.stat().st_size / 2**20:.1f} MiB)"


def main() -> None:
    """Time every subject, print the table and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per recipe (15)")
    parser.add_argument("--measure-rss", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_rss:
        measure_rss(args.measure_rss)
        return
    pillow_heif.register_heif_opener()  # for the `common` and `floor` recipes only
    photos = photos_dir()
    report: dict[str, object] = {"runs": args.runs, "cpu_count": os.cpu_count(), "subjects": {}}
    with tempfile.TemporaryDirectory() as scratch:
        subjects = {
            "phone JPEG 12 MP": make_twelve_mp_jpeg(photos, Path(scratch)),
            "Nokia JPEG as is": photos / "mobile" / "HMD_Nokia_8.3_5G.jpg",
            "Nokia HEIF": photos / "mobile" / "HMD_Nokia_8.3_5G.heif",
        }
        for name, path in subjects.items():
            data = path.read_bytes()
            timings = time_recipes(data, args.runs)
            figures = {
                "file": describe(path),
                **timings,
                "common_over_ours": timings["common"]["median_ms"] / timings["ours"]["median_ms"],
                "ours_over_floor": timings["ours"]["median_ms"] / timings["floor"]["median_ms"],
                "ours_tracemalloc_peak_mb": tracemalloc_peak_mb(data),
                "ours_fresh_process_rss": fresh_process_rss(path),
            }
            report["subjects"][name] = figures
            print_subject(name, figures)
    jpeg = report["subjects"]["phone JPEG 12 MP"]
    report["goals_12mp_jpeg"] = {
        f"common/ours >= {GOAL_SPEEDUP}": jpeg["common_over_ours"] >= GOAL_SPEEDUP,
        f"ours/floor <= {GOAL_FLOOR_RATIO}": jpeg["ours_over_floor"] <= GOAL_FLOOR_RATIO,
        f"peak RSS <= {GOAL_PEAK_MB} MB": jpeg["ours_fresh_process_rss"]["peak_mb"] <= GOAL_PEAK_MB,
    }
    print("goals on the 12-MP JPEG:", report["goals_12mp_jpeg"])
    print(json.dumps(_rounded(report), indent=2, ensure_ascii=False))


def _rounded(value: object) -> object:
    """Floats to two decimals, all the way down, for a readable JSON block."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def print_subject(name: str, figures: dict) -> None:
    """One block of the side-by-side table."""
    print(f"\n{name}: {figures['file']}")
    print(f"  {'':8}{'median ms':>11}{'p95 ms':>10}")
    for recipe in RECIPES:
        print(f"  {recipe:8}{figures[recipe]['median_ms']:>11.1f}{figures[recipe]['p95_ms']:>10.1f}")
    rss = figures["ours_fresh_process_rss"]
    print(f"  common/ours {figures['common_over_ours']:.2f}×   "
          f"ours/floor {figures['ours_over_floor']:.2f}×")
    print(f"  ours memory: tracemalloc peak {figures['ours_tracemalloc_peak_mb']:.1f} MB; "
          f"fresh process RSS {rss['baseline_mb']:.0f} MB after imports → "
          f"{rss['peak_mb']:.0f} MB peak (+{rss['added_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
