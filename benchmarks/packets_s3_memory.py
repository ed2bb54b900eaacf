"""Worker memory while rendering RFP packets to S3: one real `celery worker` (prefork) against Redis,
PostgreSQL and an S3-compatible server (moto's server mode, on a loopback port), sampling the
resident memory (RSS) of every worker process while it renders a batch of packets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vendorselect_bench \
        .venv/bin/python benchmarks/packets_s3_memory.py [--packets 200] [--concurrency 2] [--interval 0.2]

Works in a throwaway database (the DATABASE_URL's name + "_s3mem_<pid>", created, migrated and dropped
at the end), a new bucket on a moto server started for the run, and Redis db PACKETS_BROKER_URL
(default redis://127.0.0.1:6379/5), emptied before and after. The packets are those of one RFP to an
approved shortlist of --packets vendors (benchmarks.packets.build), so that every packet is rendered
(PDF in the limited child of core.pdf.render_pdf, questionnaire, ZIP) and its three files stored in the
bucket through core.storage.S3Storage.

Prints, per worker process (the main process, each pool process), RSS at start (ready, nothing rendered),
after the first tenth of the batch (warm: WeasyPrint, fonts, boto3 loaded), at its peak and at the end;
growth from warm to end is what a leak would show. The PDF children that render_pdf forks per packet
are short-lived: their peak is printed separately. Then total time and packets per minute, and a check
that every packet is done with its three objects in the bucket.
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.packets import celery_worker, create_database, drop_database, server_and_name  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_bench")
BROKER = os.environ.get("PACKETS_BROKER_URL", "redis://127.0.0.1:6379/5")
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """moto's S3-compatible server (requirements-dev.txt) on a loopback port."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        executable = Path(sys.executable).with_name("moto_server")
        self.log_file = log.open("w")
        self.process = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("moto_server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.log_file.close()


class Sampler(threading.Thread):
    """RSS of the worker's main process and its pool processes (psutil), every `interval` seconds; the
    grandchildren (render_pdf's forked PDF renderers) are tracked apart, by their peak only."""

    def __init__(self, main_pid: int, interval: float):
        super().__init__(daemon=True)
        import psutil

        self.psutil, self.interval = psutil, interval
        self.main = psutil.Process(main_pid)
        self.samples: dict[int, list[tuple[float, int]]] = {}
        self.renderer_peak, self.renderers = 0, set()
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def sample(self) -> None:
        now = time.monotonic()
        try:
            pool = self.main.children()
        except self.psutil.NoSuchProcess:
            return
        for process in [self.main, *pool]:
            try:
                rss = process.memory_info().rss
            except self.psutil.Error:
                continue
            with self.lock:
                self.samples.setdefault(process.pid, []).append((now, rss))
        for process in pool:
            try:
                for child in process.children():
                    self.renderers.add(child.pid)
                    self.renderer_peak = max(self.renderer_peak, child.memory_info().rss)
            except self.psutil.Error:
                continue

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.interval)

    def at(self, pid: int, moment: float) -> int:
        """RSS of the last sample at or before `moment` (the first one if none)."""
        with self.lock:
            series = self.samples[pid]
        before = [rss for t, rss in series if t <= moment]
        return before[-1] if before else series[0][1]

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        self.sample()


def build_world(packets: int, bucket: str, endpoint: str):
    import boto3

    from benchmarks.packets import build

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=bucket)
    rfp, ids = build(packets)
    return s3, rfp, ids


def objects(s3, bucket: str, prefix: str) -> list[dict]:
    found, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **({"ContinuationToken": token} if token else {}))
        found += page.get("Contents", [])
        if not page.get("IsTruncated"):
            return found
        token = page["NextContinuationToken"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=200, help="packets in the batch (vendors on the shortlist)")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes of the worker")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between RSS samples")
    parser.add_argument("--debug", action="store_true", help="run the worker with DJANGO_DEBUG=1 (queries kept)")
    parser.add_argument(
        "--filesystem", action="store_true", help="for comparison: the same batch to MEDIA_ROOT instead of S3"
    )
    args = parser.parse_args()

    import redis

    broker = redis.Redis.from_url(BROKER)
    broker.ping()
    broker.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="packets-s3-memory-"))
    moto = MotoServer(scratch / "moto.log")
    bucket = f"vendorselect-memory-{uuid.uuid4().hex[:8]}"
    database = create_database(os.environ["DATABASE_URL"], "s3mem")
    os.environ.update(
        DATABASE_URL=database,
        VENDORSELECT_VAR_DIR=str(scratch),  # MEDIA_ROOT stays empty: every file goes to the bucket
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="0",
        AWS_S3_ENDPOINT_URL=moto.endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="vendorselect-bench",
        AWS_SECRET_ACCESS_KEY="vendorselect-bench-secret",
    )
    if not args.filesystem:
        os.environ["AWS_STORAGE_BUCKET_NAME"] = bucket
    worker = None
    try:
        import django

        django.setup()
        import logging

        for noisy in ("weasyprint", "fontTools", "pgtrigger"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        from django.core.management import call_command
        from django.db import connections

        from core import outbox
        from core.models import OutboxMessage
        from rfp import services
        from rfp.models import Packet

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        s3, rfp, ids = build_world(args.packets, bucket, moto.endpoint)
        broker.flushdb()  # the generation's messages: this run publishes its own
        OutboxMessage.objects.all().delete()
        Packet.objects.filter(pk__in=ids).update(status=Packet.Status.QUEUED, claim="", error="")
        print(
            f"throwaway database {server_and_name(database)[1]} migrated and filled in "
            f"{time.perf_counter() - started:.0f} s; {len(ids)} packets of RFP {rfp.pk}; bucket {bucket} on "
            f"moto {moto.endpoint}; worker DJANGO_DEBUG={1 if args.debug else 0}; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        worker_env = dict(os.environ)
        if not args.debug:  # as deployed: DEBUG off (with DEBUG on, Django keeps every query of the process)
            worker_env.update(
                DJANGO_DEBUG="0",
                SECRET_KEY=secrets.token_urlsafe(50),
                ALLOWED_HOSTS="127.0.0.1",
                SECURE_HSTS_SECONDS="0",
            )
        worker = celery_worker(scratch / "worker.log", worker_env, args.concurrency)
        time.sleep(1)  # the pool processes are forked right after "ready"
        sampler = Sampler(worker.process.pid, args.interval)
        sampler.sample()
        start_moment = time.monotonic()
        sampler.start()
        OutboxMessage.objects.bulk_create(
            [OutboxMessage(task=services.RENDER_TASK, key=f"s3mem:{pk}", args=[pk]) for pk in ids]
        )
        began = time.perf_counter()
        assert outbox.relay() == len(ids)
        marks = dict.fromkeys((10, 25, 50, 75))  # % of the batch finished -> when
        deadline = time.monotonic() + 60 * len(ids)
        while True:
            finished = Packet.objects.filter(pk__in=ids, status__in=["done", "failed"]).count()
            for share, moment in marks.items():
                if moment is None and finished * 100 >= share * len(ids):
                    marks[share] = time.monotonic()
            if finished == len(ids):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {finished} of {len(ids)} packets finished in time")
            time.sleep(0.1)
        elapsed = time.perf_counter() - began
        end_moment = time.monotonic()
        sampler.stop()
        done = Packet.objects.filter(pk__in=ids, status="done").count()
        failed = list(Packet.objects.filter(pk__in=ids, status="failed").values_list("error", flat=True)[:3])
        stored = objects(s3, bucket, "packets/")
        if args.filesystem:
            media = scratch / "media"
            files = [p for p in media.rglob("*") if p.is_file()]
            stored = [{"Key": str(p.relative_to(media)), "Size": p.stat().st_size} for p in files]
        expected = {
            name
            for p in Packet.objects.filter(pk__in=ids)
            for name in (p.pdf.name, p.questionnaire.name, p.bundle.name)
        }
        print(
            f"{len(ids)} packets through one worker (--concurrency {args.concurrency}) to "
            f"{'MEDIA_ROOT' if args.filesystem else 'S3'} in {elapsed:.1f} s: "
            f"{60 * len(ids) / elapsed:.0f} packets/minute; done {done}, failed {len(ids) - done} {failed or ''}; "
            f"{len(stored)} files stored ({sum(o['Size'] for o in stored) / MIB:.1f} MiB), "
            f"{len(expected - {o['Key'] for o in stored})} referenced but missing, "
            f"{len({o['Key'] for o in stored} - expected)} unreferenced"
        )
        warm_moment = marks[10]
        print(
            "RSS per worker process (MiB): start (ready) / warm (first tenth done) / peak / end; end - warm; "
            "and at 25, 50, 75 % of the batch done"
        )
        for pid in sorted(sampler.samples, key=lambda p: (p != worker.process.pid, p)):
            series = sampler.samples[pid]
            role = "main" if pid == worker.process.pid else "pool"
            start, warm, end = (sampler.at(pid, m) for m in (start_moment, warm_moment, end_moment))
            peak = max(rss for _, rss in series)
            print(
                f"    {role} pid {pid}: {start / MIB:6.1f} / {warm / MIB:6.1f} / {peak / MIB:6.1f} / {end / MIB:6.1f}; "
                f"{(end - warm) / MIB:+.1f}; "
                + " / ".join(f"{sampler.at(pid, marks[share]) / MIB:.1f}" for share in (25, 50, 75))
                + f" ({len(series)} samples)"
            )
        print(
            f"    PDF renderer children (forked per packet by core.pdf.render_pdf): {len(sampler.renderers)} seen, "
            f"peak RSS {sampler.renderer_peak / MIB:.1f} MiB (shared pages with the pool process counted in each)"
        )
        print(f"load average at the end {os.getloadavg()[0]:.1f} (other processes share the {os.cpu_count()} CPUs)")
        connections.close_all()
    finally:
        if worker is not None:
            worker.kill(signal.SIGTERM)
        moto.stop()
        drop_database(database)
        broker.flushdb()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
