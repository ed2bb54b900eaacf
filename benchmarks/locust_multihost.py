"""The journeys of benchmarks/locustfile.py spread over several web hosts, and RFP packet rounds that
download every packet from a host other than the one that asked for it. Run by benchmarks/multihost.py.

MULTIHOST_HOSTS: the web hosts, comma-separated. Every journey of locustfile.py runs as one class per
host (users are dealt round robin: ProcurementLeadOnA, ProcurementLeadOnB, ...). MULTIHOST_RFPS: the ids
of approved RFPs of the demo lead, one `PacketRound` user each, which in a loop: changes the RFP's scope
(API, on one host), asks for its packets (API, same host), polls them on the hosts in turn until the
workers rendered them, then downloads each packet's ZIP and PDF through the page of the *other* host and
checks the ZIP's SHA-256 against the packet's. Timings of whole rounds are reported as type JOB.
"""

import hashlib
import os
import time
import uuid

from locust import between, events, task

import benchmarks.locustfile as journeys  # as a module: its classes are not run as such here

HOSTS = [host.rstrip("/") for host in os.environ["MULTIHOST_HOSTS"].split(",")]
RFPS = [int(pk) for pk in os.environ.get("MULTIHOST_RFPS", "").split(",") if pk]
RENDER_TIMEOUT = float(os.environ.get("MULTIHOST_RENDER_TIMEOUT", "300"))

for _index, _host in enumerate(HOSTS):
    for _base in (journeys.ProcurementLead, journeys.Evaluator, journeys.Manager, journeys.ApiClient):
        _name = f"{_base.__name__}On{chr(ord('A') + _index)}"
        globals()[_name] = type(_name, (_base,), {"host": _host, "weight": _base.weight, "__module__": __name__})


class PacketRound(journeys.Browser):
    """One per RFP of MULTIHOST_RFPS (fixed_count): generate on one host, download from the other."""

    host = HOSTS[0]
    usernames = ["lead"]
    fixed_count = len(RFPS)
    wait_time = between(1, 3)
    _taken = 0

    def on_start(self):
        cls = type(self)
        self.rfp = RFPS[cls._taken % len(RFPS)]
        cls._taken += 1
        self.round = 0
        self.token = ""
        with self.client.post(  # before signing in: with a session, DRF would want a CSRF token here
            "/api/v1/auth/token/",
            name="/api/v1/auth/token/",
            json={"username": "lead", "password": journeys.PASSWORDS["lead"]},
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.token = response.json()["token"]
                response.success()
            else:
                response.failure(f"no token: {response.status_code}")
        super().on_start()  # signs in on the first host: the session (in the database) is valid on every host

    def api(self, host: str, method: str, path: str, name: str, expect: int, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        with self.client.request(
            method, host + path, name=name, json=body, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}, expected {expect}: {(response.text or '')[:200]}")
                return {}
            response.success()
            return response.json()

    @task
    def packet_round(self):
        asking = HOSTS[self.round % len(HOSTS)]
        other = HOSTS[(self.round + 1) % len(HOSTS)]
        self.round += 1
        started = time.time()
        path = f"/api/v1/rfps/{self.rfp}/"
        # A changed RFP makes new packet versions (unchanged inputs would reuse the stored files).
        self.api(asking, "PATCH", path, "/api/v1/rfps/[id]/ patch", 200, {"scope_notes": f"Round {uuid.uuid4().hex}"})
        progress = self.api(asking, "POST", path + "generate/", "/api/v1/rfps/[id]/generate/", 202)
        wanted = {p["id"] for p in progress.get("packets", []) if p["status"] in ("queued", "rendering")}
        done: dict[int, dict] = {}
        polls = 0
        while wanted and time.time() - started < RENDER_TIMEOUT:
            time.sleep(1)
            host = HOSTS[polls % len(HOSTS)]
            polls += 1
            progress = self.api(host, "GET", path + "packets/", "/api/v1/rfps/[id]/packets/", 200)
            for packet in progress.get("packets", []):
                if packet["id"] in wanted and packet["status"] in ("done", "failed"):
                    wanted.discard(packet["id"])
                    done[packet["id"]] = packet
        failed = [p for p in done.values() if p["status"] != "done"]
        events.request.fire(
            request_type="JOB",
            name="packets rendered (generate -> all done)",
            response_time=(time.time() - started) * 1000,
            response_length=len(done),
            exception=(
                RuntimeError(f"not finished in {RENDER_TIMEOUT:.0f} s: {sorted(wanted)}")
                if wanted
                else RuntimeError(f"failed packets: {[(p['id'], p['error'][:80]) for p in failed]}")
                if failed
                else None
            ),
            context={},
        )
        for packet in done.values():
            if packet["status"] != "done":
                continue
            with self.client.get(
                f"{other}/rfps/packets/{packet['id']}/zip/",
                name="/rfps/packets/[id]/zip/ (other host)",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                body = response.content or b""
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")
                elif hashlib.sha256(body).hexdigest() != packet["sha256"]:
                    response.failure("the ZIP differs from the packet's SHA-256")
                else:
                    response.success()
            with self.client.get(
                f"{other}/rfps/packets/{packet['id']}/pdf/",
                name="/rfps/packets/[id]/pdf/ (other host)",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                if response.status_code == 200 and (response.content or b"").startswith(b"%PDF-"):
                    response.success()
                else:
                    response.failure(f"status {response.status_code}, not a PDF")
