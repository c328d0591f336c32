"""Benchmark POST /api/v1/reports with one 12-MP phone JPEG, through the Flask test client.

Run: .venv/bin/python tests/perf/report_submit.py [--runs 30] [--database-url URL]

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
  no-photo    the same request with media.process_photo replaced by a precomputed result (with a
              new hash per run, so the three files are still written): the cost of everything but
              the photo pipeline
Prints median and p95 of each, and the pipeline's share.
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

from media import process_photo  # noqa: E402
from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.extensions import db  # noqa: E402
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


def body(photo: bytes) -> tuple[bytes, str]:
    """The multipart body the app sends, encoded ahead of the clock."""
    fields = {"category": "roads", "description": "Ổ gà lớn giữa đường, nguy hiểm cho xe máy",
              "lat": POINT[0], "lon": POINT[1], "accuracy_m": "6",
              "photos": [FileStorage(io.BytesIO(photo), filename="IMG_20261116_083000.jpg",
                                     content_type="image/jpeg")]}
    boundary, payload = encode_multipart(fields)
    return payload, f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


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
        client = app.test_client()
        template = process_photo(base_photo)
        real_process = report_photos.process_photo

        def fake_process(data: bytes, limits: object) -> object:
            return replace(template, sha256=uuid.uuid4().hex + uuid.uuid4().hex, original=data)

        def send(run: int, *, processing: bool) -> float:
            payload, content_type = body(with_comment(base_photo, f"run {run} {processing}"))
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            report_photos.process_photo = real_process if processing else fake_process
            try:
                started = time.perf_counter()
                response = client.post("/api/v1/reports", data=payload, headers=headers,
                                       content_type=content_type)
                elapsed = time.perf_counter() - started
            finally:
                report_photos.process_photo = real_process
            if response.status_code != 201:
                sys.exit(f"unexpected {response.status_code}: {response.get_data(as_text=True)}")
            return elapsed

        for run in range(args.warmup):
            send(-1 - run, processing=True)
            send(-1 - run, processing=False)
        full: list[float] = []
        bare: list[float] = []
        for run in range(args.runs):
            full.append(send(run, processing=True))
            bare.append(send(run, processing=False))
        pipeline = []
        for run in range(min(args.runs, 15)):
            started = time.perf_counter()
            process_photo(with_comment(base_photo, f"alone {run}"))
            pipeline.append(time.perf_counter() - started)
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
    print(f"photo pipeline share of the median request: {share:.0%}")


if __name__ == "__main__":
    main()
