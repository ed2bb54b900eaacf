"""Mixed user journeys of VendorSelect for locust, with the demo users of `manage.py seed_demo`.

Run by benchmarks/load.py (which prepares the data and the server); by hand against a seeded server
whose settings trust X-Forwarded-Proto (production's default behind a TLS proxy):

    .venv/bin/locust -f benchmarks/locustfile.py --headless -u 40 -r 4 -t 60s --host http://127.0.0.1:8000

Users, by weight (of 12): procurement leads 4, evaluators 3, managers 2, API clients 2, vendor contacts 1.
  lead       the register: list, search, filters, sort, pages, vendor and site pages, inspections;
             evaluations: detail, ranking, sensitivity, comparison
  evaluator  home, the scoring grid, saving score cells (htmx POSTs: writes), the ranking, a candidate
  manager    home dashboard, the shortlist awaiting signatures, evaluations, audit-trail search (/trail/)
  API client token auth; paginated and filtered vendor and inspection lists, vendor reads, vendor creation
  vendor     a vendor's contact in the supplier portal: signs in with an invitation link of
             $LOAD_PORTAL_TOKENS (one each; the link works once) and the one-time code read from the e-mail
             that Django's file-based backend wrote into $LOAD_MAIL_DIR; then the portal home, the packet PDF
             (its link read from the home page), a question (while questions are open), a small PDF proposal
             upload (a multipart body built here), the portal API's overview
Browsers sign in through /login/ with the form's CSRF token, as a browser does, and play one behind the
production TLS proxy: X-Forwarded-Proto: https on every request, Origin on every POST, Secure cookies kept.
Requests are named by route ([id] for ids). Any status other than the one the step expects (a 5xx, a
redirect to the login page, a 403...) is a failure, and so is a score cell that comes back with an error;
a cell refused because another session saved it meanwhile (the grid's optimistic lock) is counted apart,
as "stale revision refused", and is not a failure.
"""

import csv
import json
import os
import random
import re
import secrets
import sys
import time
import uuid
from datetime import date, timedelta
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import FastHttpUser, between, events, task


def demo_passwords() -> dict[str, str]:
    """The passwords seed_demo gives the demo users: handed over by load.py, else from seed_demo itself."""
    if os.environ.get("LOAD_DEMO_PASSWORDS"):
        return json.loads(os.environ["LOAD_DEMO_PASSWORDS"])
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from vendorselect.management.commands.seed_demo import DEMO_USERS, demo_password

    return {username: demo_password(username) for username, *_ in DEMO_USERS}


PASSWORDS = demo_passwords()
RAW: list[tuple] = []  # (start, type, name, ms, failed) of every request, for exact percentiles in load.py


@events.request.add_listener
def record(request_type, name, response_time, exception=None, **kwargs):
    RAW.append((time.time() - response_time / 1000, request_type, name, response_time, exception is not None))


@events.quitting.add_listener
def write_raw(environment, **kwargs):
    if os.environ.get("LOAD_RAW_CSV"):
        with open(os.environ["LOAD_RAW_CSV"], "w", newline="") as handle:
            csv.writer(handle).writerows(RAW)


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VENDOR_LINK = re.compile(r'href="/vendors/(\d+)/"')
SITE_LINK = re.compile(r'href="/vendors/sites/(\d+)/"')
EVALUATION_LINK = re.compile(r'href="/evaluations/(\d+)/"')
GRID_LINK = re.compile(r'href="/evaluations/(\d+)/score/"')
SHORTLIST_LINK = re.compile(r'href="/evaluations/(\d+)/shortlist/(\d+)/"')
CELL_FIELDS = re.compile(r'name="(candidate|criterion|revision)" value="(\d*)"')
USER_OPTION = re.compile(r'<option value="(\d+)"')
PACKET_PDF = re.compile(r'href="(/portal/packets/(\d+)/pdf/)"')
MAIL_CODE = re.compile(r"\bis (\d{6})\.")

SEARCHES = ["bio", "peptide", "sterile", "Meridian", "Quartz", "clinical", "chem", "Plant", "oral", "zephyr"]
FILTERS = [
    "kind=CDMO&country=US",
    "status=approved&status=conditionally_approved",
    "service=scale-up&service=process-development",
    "kind=CRO&phase=phase-2",
    "country=DE&country=CH&status=under_qualification",
    "scale_unit=L&scale_from=100&scale_to=1000",
    "modality=peptide&kind=CDMO",
]
ORDERINGS = ["name", "-name", "country", "-sites", "-last_inspection", "-red_flags", "-updated"]
RATIONALES = ["", "", "Strong track record on similar transfers.", "Capacity only from Q3.", "Site visit pending."]


class BehindTLSProxy(DefaultCookiePolicy):
    """A browser's cookie rules as seen from behind the TLS proxy: the browser's own connection is https,
    so it returns the Secure cookies (session, CSRF), which the proxy forwards over loopback http."""

    def return_ok_secure(self, cookie, request):
        return True


class Browser(FastHttpUser):
    """A signed-in browser session behind the TLS proxy."""

    abstract = True
    usernames: list[str] = []
    wait_time = between(1, 4)
    default_headers = {"X-Forwarded-Proto": "https", "Accept": "text/html,application/xhtml+xml"}
    _next = 0

    def on_start(self):
        cls = type(self)
        self.username = cls.usernames[cls._next % len(cls.usernames)]
        cls._next += 1
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.csrf = ""
        self.client.cookiejar.set_policy(BehindTLSProxy())
        self.login()

    # -- requests --

    def get(self, path: str, name: str, expect: int = 200, **kwargs) -> str:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True, **kwargs) as response:
            body = self.check(response, expect)
        token = CSRF.search(body)
        if token:
            self.csrf = token.group(1)
        return body

    def post(self, path: str, name: str, data: dict, expect: int = 302, headers: dict | None = None):
        headers = {"Origin": self.origin, "Referer": self.origin + path, **(headers or {})}
        data = {"csrfmiddlewaretoken": self.csrf, **data}
        return self.client.post(path, name=name, data=data, headers=headers, allow_redirects=False, catch_response=True)

    @staticmethod
    def check(response, expect: int) -> str:
        body = response.text or ""
        if response.status_code == expect:
            response.success()
        elif response.status_code in (301, 302):
            response.failure(f"{response.status_code} to {response.headers.get('Location')}")
        else:
            response.failure(f"status {response.status_code}, expected {expect}")
        return body

    def login(self):
        self.get("/login/", "/login/")
        with self.post(
            "/login/", "/login/", {"username": self.username, "password": PASSWORDS[self.username]}
        ) as response:
            if response.status_code == 302 and response.headers.get("Location") == "/":
                response.success()
            else:
                response.failure(f"sign-in of {self.username} refused: {response.status_code}")

    def home(self) -> str:
        return self.get("/", "/")

    def pause(self):
        self.wait()


class ProcurementLead(Browser):
    weight = 4
    usernames = ["lead"]

    def on_start(self):
        super().on_start()
        self.vendors: list[str] = []
        self.evaluations: list[str] = []

    def open_vendor(self, body: str):
        ids = VENDOR_LINK.findall(body) or self.vendors
        if not ids:
            return
        self.vendors = ids
        self.pause()
        page = self.get(f"/vendors/{random.choice(ids)}/", "/vendors/[id]/")
        sites = SITE_LINK.findall(page)
        if sites and random.random() < 0.4:
            self.pause()
            self.get(f"/vendors/sites/{random.choice(sites)}/", "/vendors/sites/[id]/")

    @task(5)
    def browse_register(self):
        body = self.get("/vendors/", "/vendors/ list")
        self.pause()
        if random.random() < 0.5:
            body = self.get(f"/vendors/?q={random.choice(SEARCHES)}", "/vendors/ search")
        else:
            body = self.get(f"/vendors/?{random.choice(FILTERS)}", "/vendors/ filter")
        self.open_vendor(body)
        self.pause()
        page = random.randint(2, 60)
        body = self.get(f"/vendors/?ordering={random.choice(ORDERINGS)}&page={page}", "/vendors/ sort+page")
        self.open_vendor(body)

    @task(2)
    def inspections(self):
        since = (date.today() - timedelta(days=random.choice([365, 730, 1825]))).isoformat()
        query = random.choice(["classification=OAI", "warning_letter=true", "agency=FDA&classification=VAI"])
        self.get(f"/vendors/inspections/?{query}&end_after={since}", "/vendors/inspections/ filter")
        self.pause()
        self.get(
            f"/vendors/inspections/?ordering=-end_date&page={random.randint(2, 100)}", "/vendors/inspections/ page"
        )

    @task(3)
    def evaluation(self):
        if not self.evaluations or random.random() < 0.3:
            self.evaluations = EVALUATION_LINK.findall(self.get("/evaluations/", "/evaluations/")) or self.evaluations
            self.pause()
        if not self.evaluations:
            return
        pk = random.choice(self.evaluations)
        self.get(f"/evaluations/{pk}/", "/evaluations/[id]/")
        self.pause()
        self.get(f"/evaluations/{pk}/ranking/", "/evaluations/[id]/ranking/")
        self.pause()
        if random.random() < 0.6:
            self.get(f"/evaluations/{pk}/sensitivity/", "/evaluations/[id]/sensitivity/")
        else:
            self.get(f"/evaluations/{pk}/compare/", "/evaluations/[id]/compare/")

    @task(1)
    def dashboard(self):
        self.home()


class Evaluator(Browser):
    weight = 3
    usernames = ["evaluator", "evaluator2"]

    def on_start(self):
        super().on_start()
        self.grids: list[str] = []

    @task(6)
    def score(self):
        if not self.grids or random.random() < 0.2:
            self.grids = GRID_LINK.findall(self.home()) or self.grids
            self.pause()
        if not self.grids:
            return
        pk = random.choice(self.grids)
        grid = self.get(f"/evaluations/{pk}/score/", "/evaluations/[id]/score/")
        cells = []
        for chunk in grid.split('<form class="score-cell')[1:]:
            form = chunk.split("</form>", 1)[0]
            if "disabled" not in form:
                cells.append(dict(CELL_FIELDS.findall(form)))
        for cell in random.sample(cells, min(len(cells), random.randint(2, 5))):
            self.pause()
            self.save_cell(pk, cell)

    def save_cell(self, pk: str, cell: dict):
        data = {**cell, "value": str(random.randint(1, 5)), "rationale": random.choice(RATIONALES), "evidence_url": ""}
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": f"{self.origin}/evaluations/{pk}/score/",
            "X-CSRFToken": self.csrf,
        }
        path = f"/evaluations/{pk}/score/cell/"
        with self.post(path, "/evaluations/[id]/score/cell/", data, expect=200, headers=headers) as response:
            body = response.text or ""
            if response.status_code != 200:
                response.failure(f"status {response.status_code}, expected 200")
            elif "is-saved" in body and "has-error" not in body:
                response.success()
            elif "changed elsewhere" in body or "another window" in body:
                response.success()  # another session of this evaluator saved the cell first: the lock held
                events.request.fire(
                    request_type="INFO",
                    name="score cell: stale revision refused",
                    response_time=0,
                    response_length=0,
                    exception=None,
                    context={},
                )
            else:
                response.failure("the cell came back with an error: " + body[-300:])

    @task(2)
    def review(self):
        body = self.home()
        evaluations = GRID_LINK.findall(body) + EVALUATION_LINK.findall(body)
        if not evaluations:
            return
        self.pause()
        pk = random.choice(evaluations)
        body = self.get(f"/evaluations/{pk}/ranking/", "/evaluations/[id]/ranking/")
        vendors = VENDOR_LINK.findall(body)
        if vendors:
            self.pause()
            self.get(f"/vendors/{random.choice(vendors)}/", "/vendors/[id]/")


class Manager(Browser):
    weight = 2
    usernames = ["manager", "qa-manager"]

    def on_start(self):
        super().on_start()
        self.users: list[str] = []

    @task(3)
    def dashboard(self):
        body = self.home()
        shortlists = SHORTLIST_LINK.findall(body)
        evaluations = EVALUATION_LINK.findall(body)
        if shortlists and random.random() < 0.7:
            self.pause()
            evaluation, shortlist = random.choice(shortlists)
            self.get(f"/evaluations/{evaluation}/shortlist/{shortlist}/", "/evaluations/[id]/shortlist/[id]/")
        elif evaluations:
            self.pause()
            self.get(f"/evaluations/{random.choice(evaluations)}/ranking/", "/evaluations/[id]/ranking/")

    @task(2)
    def trail(self):
        if not self.users:
            form = self.get("/trail/", "/trail/ form")
            self.users = USER_OPTION.findall(form.split('name="user"', 1)[-1].split("</select>", 1)[0])
            self.pause()
        since = (date.today() - timedelta(days=random.choice([1, 7, 30]))).isoformat()
        scope, query = random.choice(
            [
                ("one record type", f"model=scoring.Score&since={since}"),
                ("one record type", f"model=vendors.Vendor&action=update&since={since}"),
                ("one record type", "model=scoring.Shortlist"),
                ("all record types", f"user={random.choice(self.users or [''])}&since={since}"),
                ("all record types", f"action=insert&since={since}"),
            ]
        )
        self.get(f"/trail/?{query}", f"/trail/ search, {scope}")
        if random.random() < 0.4:
            self.pause()
            self.get(f"/trail/?{query}&page=2", f"/trail/ search, {scope}, page 2")

    @task(1)
    def evaluations(self):
        body = self.get("/evaluations/", "/evaluations/")
        ids = EVALUATION_LINK.findall(body)
        if ids:
            self.pause()
            self.get(f"/evaluations/{random.choice(ids)}/", "/evaluations/[id]/")


class ApiClient(FastHttpUser):
    """An integration with a token of the procurement lead (who may create vendors)."""

    weight = 2
    wait_time = between(0.5, 2)
    default_headers = {"X-Forwarded-Proto": "https", "Accept": "application/json"}
    username = "lead"

    def on_start(self):
        self.vendors: list[int] = []
        self.token = ""
        with self.client.post(
            "/api/v1/auth/token/",
            name="/api/v1/auth/token/",
            json={"username": self.username, "password": PASSWORDS[self.username]},
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.token = response.json()["token"]
                response.success()
            else:
                response.failure(f"no token: {response.status_code}")

    def api(self, path: str, name: str, expect: int = 200, method: str = "GET", body: dict | None = None) -> dict:
        headers = {"Authorization": f"Token {self.token}"}
        with self.client.request(
            method, path, name=name, json=body, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}, expected {expect}: {(response.text or '')[:200]}")
                return {}
            response.success()
            return response.json()

    def remember(self, data: dict):
        ids = [row["id"] for row in data.get("results", [])]
        if ids:
            self.vendors = ids

    @task(5)
    def vendor_pages(self):
        self.remember(self.api(f"/api/v1/vendors/?page={random.randint(1, 40)}", "/api/v1/vendors/ page"))

    @task(4)
    def vendor_filters(self):
        query = random.choice([*FILTERS[:5], f"q={random.choice(SEARCHES)}&page_size=100"])
        ordering = random.choice(["name", "-updated", "-last_inspection"])
        self.remember(self.api(f"/api/v1/vendors/?{query}&ordering={ordering}", "/api/v1/vendors/ filter"))

    @task(2)
    def vendor_detail(self):
        if self.vendors:
            self.api(f"/api/v1/vendors/{random.choice(self.vendors)}/", "/api/v1/vendors/[id]/")

    @task(4)
    def inspections(self):
        since = (date.today() - timedelta(days=random.choice([365, 1095]))).isoformat()
        query = random.choice(
            [f"classification=OAI&end_after={since}", "agency=FDA&ordering=-end_date", "warning_letter=true"]
        )
        self.api(f"/api/v1/inspections/?{query}", "/api/v1/inspections/ filter")
        if random.random() < 0.3:
            self.api(f"/api/v1/inspections/?page={random.randint(2, 100)}", "/api/v1/inspections/ page")

    @task(1)
    def create_vendor(self):
        body = {
            "name": f"Load API vendor {uuid.uuid4().hex[:12]}",
            "kinds": random.choice([["CRO"], ["CMO"], ["CDMO", "CRO"]]),
            "country": random.choice(["US", "DE", "IN", "JP"]),
            "services": ["process-development", "scale-up"],
            "phases": ["phase-1"],
            "status": "prospect",
        }
        self.api("/api/v1/vendors/", "/api/v1/vendors/ create", expect=201, method="POST", body=body)


def portal_invitations() -> list[dict]:
    """[{"token": ..., "email": ...}] of the invitations load.py prepared, each for one vendor user."""
    return json.loads(os.environ.get("LOAD_PORTAL_TOKENS") or "[]")


def small_pdf(label: str) -> bytes:
    """A one-page PDF with a line of text (hand-written objects; offsets computed)."""
    text = f"BT /F1 18 Tf 72 770 Td ({label}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class VendorContact(Browser):
    """A vendor's bid manager in the supplier portal, signed in by the e-mailed link and one-time code."""

    weight = 1
    wait_time = between(2, 6)
    invitations = portal_invitations()

    def on_start(self):
        cls = type(self)
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.csrf = ""
        self.client.cookiejar.set_policy(BehindTLSProxy())
        self.packet = ""
        self.questions_open = True
        self.uploads_open = True
        self.signed_in = False
        if cls._next >= len(cls.invitations):
            events.request.fire(
                request_type="PORTAL",
                name="sign-in: no invitation left for this user",
                response_time=0,
                response_length=0,
                exception=RuntimeError(f"LOAD_PORTAL_TOKENS has {len(cls.invitations)} links"),
                context={},
            )
            return
        invitation = cls.invitations[cls._next]
        cls._next += 1
        self.sign_in(invitation["token"], invitation["email"])

    def sign_in(self, token: str, email: str):
        link = f"/portal/i/{token}/"
        self.get(link, "/portal/i/[token]/ open")
        with self.post(link, "/portal/i/[token]/ send code", {"action": "send"}) as response:
            if response.status_code == 200 and 'name="code"' in (response.text or ""):
                response.success()
            else:
                response.failure(f"no code form after sending: status {response.status_code}")
                return
        code = self.mailed_code(email)
        if not code:
            return
        with self.post(link, "/portal/i/[token]/ verify code", {"action": "verify", "code": code}) as response:
            if response.status_code == 302 and response.headers.get("Location") == "/portal/":
                response.success()
                self.signed_in = True
            else:
                response.failure(f"code refused: status {response.status_code}")

    @staticmethod
    def mailed_code(email: str, timeout: float = 10) -> str:
        """The newest code e-mailed to `email` (one file per message batch, in $LOAD_MAIL_DIR)."""
        directory = Path(os.environ.get("LOAD_MAIL_DIR", "."))
        started, deadline = time.time(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
                text = path.read_text(errors="replace")
                if f"To: {email}" in text and (found := MAIL_CODE.findall(text)):
                    return found[-1]
            time.sleep(0.2)
        events.request.fire(
            request_type="MAIL",
            name="one-time code e-mail",
            response_time=(time.time() - started) * 1000,
            response_length=0,
            exception=RuntimeError(f"no code e-mailed to {email} in {directory}"),
            context={},
        )
        return ""

    def home(self) -> str:
        body = self.get("/portal/", "/portal/")
        found = PACKET_PDF.search(body)
        if found:
            self.packet = found.group(1)
        self.questions_open = 'action="/portal/questions/"' in body
        self.uploads_open = 'action="/portal/uploads/"' in body
        return body

    @task(4)
    def overview(self):
        if self.signed_in:
            self.home()

    @task(3)
    def download_packet(self):
        if not self.signed_in:
            return
        if not self.packet:
            self.home()
            self.pause()
        if not self.packet:
            return
        with self.client.get(
            self.packet, name="/portal/packets/[id]/pdf/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}, expected 200")
            elif not (response.content or b"").startswith(b"%PDF-"):
                response.failure(f"not a PDF: {response.headers.get('Content-Type')}")
            else:
                response.success()

    @task(1)
    def ask(self):
        if not self.signed_in or not self.questions_open:
            return
        self.home()
        self.pause()
        question = f"Load test question {uuid.uuid4().hex[:8]}: may batch records be shared electronically?"
        with self.post("/portal/questions/", "/portal/questions/", {"question": question}) as response:
            self.expect_home(response)

    @task(1)
    def upload(self):
        if not self.signed_in or not self.uploads_open:
            return
        self.home()
        self.pause()
        boundary = f"----load-{secrets.token_hex(8)}"
        fields = {"csrfmiddlewaretoken": self.csrf, "part": "proposal"}
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="Proposal {uuid.uuid4().hex[:6]}.pdf"'
            f"\r\nContent-Type: application/pdf\r\n\r\n".encode()
            + small_pdf("Technical and commercial proposal (load test)")
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Origin": self.origin,
            "Referer": self.origin + "/portal/",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        with self.client.post(
            "/portal/uploads/",
            name="/portal/uploads/",
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            self.expect_home(response)

    @task(2)
    def api_overview(self):
        if not self.signed_in:
            return
        headers = {"Accept": "application/json"}
        with self.client.get(
            "/portal/api/overview/", name="/portal/api/overview/", headers=headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}, expected 200")
                return
            try:
                deadlines = response.json()["deadlines"]
            except (ValueError, KeyError):
                response.failure("not the overview's JSON")
                return
            self.questions_open, self.uploads_open = deadlines["questions_open"], deadlines["uploads_open"]
            response.success()

    @staticmethod
    def expect_home(response):
        """A form post that worked: back to the portal's home (a refusal re-renders the page, 4xx)."""
        if response.status_code == 302 and response.headers.get("Location") == "/portal/":
            response.success()
        else:
            response.failure(f"status {response.status_code}, expected 302 to /portal/: {(response.text or '')[-300:]}")
