"""Benchmark POST /api/v1/reports with one 12-MP phone JPEG, through the Flask test client.

Run: .venv/bin/python tests/perf/report_submit.py [--runs 30] [--database-url URL]
Through tests/perf/run.py (`measure`), the same two series run against the national data set
instead (a citizen of it, a central ward, `roads`), and the reports they file are deleted
afterwards; it also reports the peak memory of processing the photo (RSS growth of a fresh
process, since Pillow's pixel buffers are invisible to tracemalloc).

Default database: a fresh SQLite file in a temporary folder. With --database-url (e.g.
postgresql://postgres@127.0.0.1:5432/perf_reports) the script DROPS AND REBUILDS the public
schema of that database with the migrations: give it a database of its own.

Set-up: the demo province, one citizen, a 4000×3000 JPEG made from the shared Nokia HEIF (quality
95, the Nokia JPEG's EXIF with orientation 6 and GPS), media written to a temporary folder. Each
run sends a photo with different bytes (a JPEG comment segment carrying the run number), so every
run hashes, processes and writes a new photo as a real submission does, and a fresh
Idempotency-Key. The multipart body is encoded before the clock starts; the time covers what the
server does: parse the form, auth, idempotency claim, photo processing, placing, routing, file
writes, the transaction and the response.

Two series, interleaved run by run:
  full        the request as it is
  no-photo    the same request with the photo's inspection and rendering replaced by a result
              computed before the clock (with a new hash per run, so the three files are still
              written): the cost of everything but decoding the photo
Prints median and p95 of each, and what decoding the photo adds to the median.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pillow_heif
import sqlalchemy as sa
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from flask_jwt_extended import create_access_token  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from media import ProcessedPhoto, process_photo  # noqa: E402
from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.extensions import db  # noqa: E402
from reports_app.migrations_setup import bind_migrations  # noqa: E402
from reports_app.reports import photos as report_photos  # noqa: E402

POINT = ("12.65955", "108.03247")  # inside Phường Buôn Ma Thuột (demo ward 24133)
EXIF_ORIENTATION = 0x0112


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="a database this script may wipe (default: temporary SQLite)")
    parser.add_argument("--shared", default=str(REPO_ROOT.parent / "shared" / "photos"))
    return parser.parse_args()


def twelve_mp_jpeg(photos: Path) -> bytes:
    """A 4000×3000 phone JPEG: the Nokia HEIF's pixels, the Nokia JPEG's EXIF, orientation 6."""
    portrait = pillow_heif.open_heif(photos / "mobile" / "HMD_Nokia_8.3_5G.heif").to_pillow()
    landscape = portrait.transpose(Image.Transpose.ROTATE_90).resize(
        (4000, 3000), Image.Resampling.LANCZOS)
    with Image.open(photos / "mobile" / "HMD_Nokia_8.3_5G.jpg") as nokia:
        exif = nokia.getexif()
    exif[EXIF_ORIENTATION] = 6
    buffer = io.BytesIO()
    landscape.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment after SOI: other bytes, same pixels and decode cost."""
    payload = text.encode()
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


def reset_schema() -> None:
    """An empty database built by the migrations."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    upgrade()


def body(photo: bytes, point: tuple[str, str] = POINT) -> tuple[bytes, str]:
    """The multipart body the app sends, encoded ahead of the clock."""
    fields = {"category": "roads", "description": "Ổ gà lớn giữa đường, nguy hiểm cho xe máy",
              "lat": point[0], "lon": point[1], "accuracy_m": "6",
              "photos": [FileStorage(io.BytesIO(photo), filename="IMG_20261116_083000.jpg",
                                     content_type="image/jpeg")]}
    boundary, payload = encode_multipart(fields)
    return payload, f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class Precomputed:
    """Stands in for an inspected photo in the no-photo series: the facts and derivatives were
    made once, before the clock; only the hash is new for each run."""

    def __init__(self, processed: ProcessedPhoto) -> None:
        self.facts = processed
        self._processed = processed

    def render(self) -> ProcessedPhoto:
        return self._processed

    def close(self) -> None:
        """Nothing was opened."""


def series(client: object, token: str, base_photo: bytes, runs: int, warmup: int,
           point: tuple[str, str] = POINT) -> tuple[list[float], list[float], list[float]]:
    """Seconds per request with the photo pipeline and without it (interleaved), and of
    process_photo alone."""
    template = process_photo(base_photo)
    real_inspect = report_photos.inspect_photo

    def fake_inspect(data: bytes, limits: object) -> Precomputed:
        return Precomputed(replace(template, sha256=uuid.uuid4().hex + uuid.uuid4().hex,
                                   original=data))

    def send(run: int, *, processing: bool) -> float:
        payload, content_type = body(with_comment(base_photo, f"run {run} {processing}"), point)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        report_photos.inspect_photo = real_inspect if processing else fake_inspect
        try:
            started = time.perf_counter()
            response = client.post("/api/v1/reports", data=payload, headers=headers,
                                   content_type=content_type)
            elapsed = time.perf_counter() - started
        finally:
            report_photos.inspect_photo = real_inspect
        if response.status_code != 201:
            raise RuntimeError(f"unexpected {response.status_code}: "
                               f"{response.get_data(as_text=True)[:300]}")
        return elapsed

    for run in range(warmup):
        send(-1 - run, processing=True)
        send(-1 - run, processing=False)
    full: list[float] = []
    bare: list[float] = []
    for run in range(runs):
        full.append(send(run, processing=True))
        bare.append(send(run, processing=False))
    pipeline = []
    for run in range(min(runs, 15)):
        started = time.perf_counter()
        process_photo(with_comment(base_photo, f"alone {run}"))
        pipeline.append(time.perf_counter() - started)
    return full, bare, pipeline


def photo_peak_mb(photo: bytes) -> float:
    """How much a fresh process's peak RSS grows while processing the photo once."""
    import subprocess

    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(photo)
        file.flush()
        # VmHWM, the process's own peak (ru_maxrss would keep the parent's across exec).
        code = ("import sys; from media import process_photo\n"
                "def hwm():\n"
                "    for line in open('/proc/self/status'):\n"
                "        if line.startswith('VmHWM:'):\n"
                "            return int(line.split()[1])\n"
                "data = open(sys.argv[1], 'rb').read(); before = hwm(); process_photo(data)\n"
                "print(hwm() - before)")
        out = subprocess.run([sys.executable, "-c", code, file.name], check=True,  # noqa: S603
                             capture_output=True, text=True, cwd=REPO_ROOT).stdout
    return int(out.strip()) / 1024


def measure(ctx: object) -> list[object]:
    """POST /reports with one 12-MP photo on the national data set (reports undone after)."""
    import time_machine

    from tests.perf.perfkit import Target, distribution, undo_new_cases

    photos = REPO_ROOT.parent / "shared" / "photos"
    base_photo = twelve_mp_jpeg(photos)
    workdir = Path(tempfile.mkdtemp(prefix="perf-report-"))
    app = ctx.app(MEDIA_ROOT=str(workdir / "media"))
    with app.app_context():
        citizen, lat, lon = db.session.execute(sa.text("""
            SELECT (SELECT min(id) FROM users WHERE role = 'citizen'),
                   (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
            FROM areas WHERE level = 'ward' ORDER BY id LIMIT 1""")).one()
    runs = max(10, min(ctx.runs // 5, 40))
    try:
        with undo_new_cases(ctx.dsn), time_machine.travel(ctx.as_of, tick=True):
            with app.app_context():
                from reports_app.models import User

                token = create_access_token(identity=db.session.get(User, citizen))
            full, bare, pipeline = series(app.test_client(), token, base_photo, runs, 3,
                                          (f"{lat:.6f}", f"{lon:.6f}"))
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    peak = photo_peak_mb(base_photo)
    ms = [x * 1000 for x in full]
    share = 1 - statistics.median(bare) / statistics.median(full)
    return [
        distribution("POST /reports, one 12-MP photo", ms, target=Target("median", 150.0),
                     peak_mb=peak, how="test client, PostgreSQL",
                     note=f"{len(base_photo) / 1e6:.1f} MB JPEG; decoding the photo adds "
                          f"{share:.0%} of the median (it overlaps the database work); "
                          "peak: RSS growth of a fresh process "
                          "processing it", source="submit"),
        distribution("POST /reports without the photo pipeline", [x * 1000 for x in bare],
                     how="test client, PostgreSQL", source="submit"),
        distribution("process_photo alone (12 MP)", [x * 1000 for x in pipeline],
                     how="function", source="submit"),
    ]


def main() -> None:
    args = parse_args()
    photos = Path(args.shared)
    if not (photos / "mobile").is_dir():
        sys.exit(f"shared photos not found at {photos}")
    workdir = Path(tempfile.mkdtemp(prefix="perf-report-"))
    url = args.database_url or f"sqlite:///{workdir / 'perf.sqlite3'}"
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url(url), "MEDIA_ROOT": str(workdir / "media"),
        "SCHEDULER_ENABLED": False, "RATELIMIT_ENABLED": False,
        "REPORT_RATE_LIMIT": "1000000/hour", "REPORT_ADDRESS_RATE_LIMIT": "1000000/hour",
        "JWT_SECRET_KEY": "perf-secret-key-that-is-long-enough-000000000000"})
    bind_migrations(app)
    base_photo = twelve_mp_jpeg(photos)
    with app.app_context():
        reset_schema()
        from reports_app.auth.service import create_user
        from reports_app.demo.loader import load_demo
        from workflows.roles import Role

        load_demo()
        citizen = create_user(password="perf-password-1", role=Role.CITIZEN,
                              phone="0912000111", full_name="Perf Citizen", region="VN")
        db.session.commit()
        token = create_access_token(identity=citizen)
        try:
            full, bare, pipeline = series(app.test_client(), token, base_photo, args.runs,
                                          args.warmup)
        except RuntimeError as exc:
            sys.exit(str(exc))
        cases = db.session.scalar(sa.text("SELECT count(*) FROM cases"))
        db.session.remove()
        db.engine.dispose()

    dialect = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"POST /api/v1/reports, one 4000x3000 JPEG ({len(base_photo) / 1e6:.1f} MB), "
          f"{dialect}, {args.runs} runs each ({cases} reports filed)")
    print(f"{'series':<22}{'median ms':>12}{'p95 ms':>10}")
    for name, values in (("full request", full), ("without processing", bare),
                         ("process_photo alone", pipeline)):
        print(f"{name:<22}{statistics.median(values) * 1000:>12.1f}"
              f"{percentile(values, 0.95) * 1000:>10.1f}")
    share = 1 - statistics.median(bare) / statistics.median(full)
    print(f"what decoding the photo adds to the median request: {share:.0%}")


if __name__ == "__main__":
    main()
