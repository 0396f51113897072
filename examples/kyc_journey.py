#!/usr/bin/env python3
"""A complete KYC journey against the gateway in sandbox mode.

What a lender's backend does, end to end, with the Python standard library
only (urllib, http.cookiejar, html.parser, json):

  1. create a request (POST /api/digilocker)
  2. send the user to its `url`; here the script plays the user itself and
     walks the sandbox DigiLocker's pages like a browser: sign in with an
     Aadhaar number, OTP, security PIN, tick the documents, Allow
  3. read the redirect back to the lender (success, id, scope)
  4. confirm with the request's status
  5. fetch the verified Aadhaar details and download the original XML
  6. find PAN in the catalogue, fetch it, download the PDF
  7. revoke access, and check the request now refuses fetches

Each step is printed; any failure ends the script with exit status 1.

    python3 examples/kyc_journey.py                      # gateway at 127.0.0.1:8080
    python3 examples/kyc_journey.py --base http://127.0.0.1:9000 \\
        --credentials /srv/gateway/data/sandbox-credentials.json

With --play-user URL the script only plays the user on an existing
request's `url` and prints the URL the user's browser is sent back to
(docs/integration.md uses that to stand in for a browser).

The sandbox's test citizens, OTP and PIN are listed in
crates/sandbox/README.md. Only the sandbox has these pages: against
DigiLocker itself a real person signs in.
"""

import argparse
import html.parser
import http.cookiejar
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

# The sandbox's happy-path citizen, Ramesh Kumar Sharma: PAN, driving
# licence, class X mark sheet and e-Aadhaar in his locker.
CITIZEN_AADHAAR = "999900000016"
SANDBOX_OTP = "123456"
SANDBOX_PIN = "111111"
# What the lender's own form would have asked the customer for PAN.
PAN_PARAMETERS = {"panno": "ABCDE1234F", "PANFullName": "Ramesh Kumar Sharma"}
# Where the lender wants its customer back. The gateway sends the browser
# there; the script reads that redirect and does not follow it.
REDIRECT_URL = "https://lender.example/kyc/done?sessionId=XYZ"
TIMEOUT = 60  # seconds; a slow issuer may keep a fetch waiting up to 30 s
RETRY_FOR = 120  # seconds of Retry-After waits before giving up


class Failure(Exception):
    """A step did not go as the API reference says it should."""


def step(text):
    print(f"==> {text}", flush=True)


def detail(text):
    print(f"    {text}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are read, not followed: the journey is a chain of them and
    the last one leaves for the lender's site."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Http:
    """A tiny HTTP client: cookies kept, redirects returned to the caller."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirects(),
        )

    def send(self, method, url, headers=None, body=None):
        """(status, headers, body bytes) of one call; errors are answers too."""
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()


class Gateway:
    """The gateway's API, with the client's three headers on every call."""

    def __init__(self, base, credentials):
        self.base = base.rstrip("/")
        self.http = Http()
        self.headers = {
            "x-client-id": credentials["clientId"],
            "x-client-secret": credentials["clientSecret"],
            "x-product-instance-id": credentials["productInstanceId"],
        }

    def call(self, method, path, body=None, headers=None):
        """(status, JSON answer). A `429` or `503` comes with Retry-After:
        the call was not done, so it is made again after that many seconds
        (for a while: the catalogue's first build after a fresh start takes
        some seconds)."""
        all_headers = dict(self.headers, **(headers or {}))
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        waited = 0
        while True:
            status, answer_headers, raw = self.http.send(method, self.base + path, all_headers, data)
            retry_after = answer_headers.get("Retry-After")
            if status not in (429, 503) or retry_after is None or waited >= RETRY_FOR:
                break
            detail(f"{status}, retrying in {retry_after} s as Retry-After says")
            time.sleep(int(retry_after))
            waited += int(retry_after)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise Failure(f"{method} {path} answered {status} with no JSON: {raw[:200]!r}")
        return status, answer

    def expect(self, status, method, path, body=None, headers=None):
        got, answer = self.call(method, path, body, headers)
        check(got == status, f"{method} {path}: expected {status}, got {got}: {answer}")
        return answer

    def download(self, file_url):
        """A file link needs no headers: the link itself is the credential."""
        status, headers, data = self.http.send("GET", file_url)
        check(status == 200, f"download answered {status}: {data[:200]!r}")
        return headers.get("content-type", ""), data


class Forms(html.parser.HTMLParser):
    """The forms of an HTML page: action, and the fields a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox" and "checked" not in a:
                return  # an unticked box is not sent
            self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


class SandboxUser:
    """Plays the user in a browser on the sandbox DigiLocker's pages."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.http = Http()

    def follow(self, status, headers, body, url):
        """Follow redirects while they stay on the gateway (its journey
        pages and the embedded sandbox). Returns the final page, or the
        redirect that leaves: (url, status, location, html)."""
        while status in (301, 302, 303, 307, 308):
            location = urllib.parse.urljoin(url, headers["Location"])
            if not location.startswith(self.base + "/"):
                return url, status, location, ""
            url = location
            status, headers, body = self.http.send("GET", url)
        return url, status, None, body.decode("utf-8", "replace")

    def open(self, url):
        status, headers, body = self.http.send("GET", url)
        return self.follow(status, headers, body, url)

    def submit(self, page, field, values, button=None):
        """Fill in the page's form that has `field` and submit it."""
        url, _, _, text = page
        parser = Forms()
        parser.feed(text)
        form = next((f for f in parser.forms if any(n == field for n, _ in f["fields"])), None)
        check(form is not None, f"no form with {field!r} on {url}: {text[:300]}")
        fields = [(n, v) for n, v in form["fields"] if n not in values]
        fields += list(values.items())
        if button:
            check(button in form["buttons"], f"no button {button} on {url}")
            fields.append(button)
        action = urllib.parse.urljoin(url, form["action"])
        data = urllib.parse.urlencode(fields).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        status, headers, body = self.http.send("POST", action, headers, data)
        return self.follow(status, headers, body, action)

    def consent(self, journey_url, aadhaar):
        """Sign in, OTP, PIN, Allow with every offered document ticked.
        Returns the URL the browser is sent back to."""
        page = self.open(journey_url)
        check(page[1] == 200, f"the journey's first page answered {page[1]}")
        page = self.submit(page, "username", {"username": aadhaar})
        page = self.submit(page, "otp", {"otp": SANDBOX_OTP})
        page = self.submit(page, "pin", {"pin": SANDBOX_PIN})
        check("decision" in page[3], f"expected the consent page, got: {page[3][:300]}")
        page = self.submit(page, "journey", {}, button=("decision", "allow"))
        check(page[2] is not None, f"no redirect back to the business: {page[3][:300]}")
        return page[2]


def redirect_back(url):
    """The query of the redirect back, decoded as a form (`+` is a space,
    `%2B` a plus sign)."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def journey(gw, base, aadhaar):
    step("1. create a request")
    created = gw.expect(
        201,
        "POST",
        "/api/digilocker",
        {"redirectUrl": REDIRECT_URL, "docType": ["PANCR"]},
        {"Idempotency-Key": f"loan-application-{uuid.uuid4()}"},
    )
    request_id = created["id"]
    check(created["status"] == "unauthenticated", f"a new request is unauthenticated: {created}")
    detail(f"id {request_id}, valid until {created['validUpto']}")
    detail(f"send the user to {created['url']}")

    step("2. the user signs in to the sandbox DigiLocker and allows access")
    back = SandboxUser(base).consent(created["url"], aadhaar)
    detail(f"the browser is sent back to {back}")

    step("3. the redirect back")
    query = redirect_back(back)
    check(back.startswith("https://lender.example/kyc/done?"), f"back at the wrong place: {back}")
    check(query.get("sessionId") == "XYZ", "the lender's own parameters are kept")
    check(query.get("success") == "True", f"consent given: {query}")
    check(query.get("id") == request_id, "the redirect names the request")
    shared = query.get("scope", "").split("+")
    check("ADHAR" in shared and "PANCR" in shared, f"Aadhaar and PAN shared: {shared}")
    detail(f"success=True, scope: {', '.join(shared)}")

    step("4. confirm with the status (never trust the redirect alone)")
    status = gw.expect(200, "GET", f"/api/digilocker/{request_id}/status")
    check(status["status"] == "authenticated", f"status after consent: {status}")
    detail(f"authenticated, DigiLocker id {status['digilockerUserDetails'].get('digilockerId')}")

    step("5. fetch the Aadhaar details")
    kyc = gw.expect(200, "GET", f"/api/digilocker/{request_id}/aadhaar")["aadhaar"]
    check(kyc["verified"]["signature"] is True, "the e-Aadhaar's signature verified")
    check(kyc["maskedNumber"].startswith("xxxx-xxxx-"), f"masked number: {kyc['maskedNumber']}")
    detail(f"{kyc['name']}, born {kyc['dateOfBirth']}, Aadhaar {kyc['maskedNumber']}, "
           f"signature verified")
    kind, xml = gw.download(kyc["xml"]["fileUrl"])
    check(kind.startswith("application/xml") and b"<Signature" in xml, "the original signed XML")
    detail(f"original XML downloaded: {len(xml)} bytes (link valid until {kyc['xml']['validUntil']})")

    step("6. fetch PAN")
    found = gw.expect(200, "GET", "/api/digilocker/documents?docType=PANCR")["documents"]
    check(found, "PAN is in the catalogue")
    pan = found[0]
    detail(f"{pan['description']} from {pan['orgName']} (orgId {pan['orgId']}), "
           f"parameters {[p['name'] for p in pan['parameters']]}")
    link = gw.expect(200, "POST", f"/api/digilocker/{request_id}/document", {
        "docType": pan["docType"],
        "orgId": pan["orgId"],
        "format": "pdf",
        "consent": "Y",
        "parameters": [{"name": p["name"], "value": PAN_PARAMETERS[p["name"]]}
                       for p in pan["parameters"]],
    })
    kind, pdf = gw.download(link["fileUrl"])
    check(kind == "application/pdf" and pdf.startswith(b"%PDF-"), f"a PDF, got {kind}")
    detail(f"PAN PDF downloaded: {len(pdf)} bytes (link valid until {link['validUpto']})")

    step("7. revoke access")
    check(gw.expect(200, "GET", f"/api/digilocker/{request_id}/revoke") == {"success": True},
          "revoke answers success")
    status = gw.expect(200, "GET", f"/api/digilocker/{request_id}/status")
    check(status["status"] == "revoked", f"status after revoke: {status['status']}")
    refused = gw.expect(401, "GET", f"/api/digilocker/{request_id}/aadhaar")
    check(refused["error"]["code"] == "token_revoked", f"after revoke: {refused}")
    detail("revoked; further fetches answer 401 token_revoked")
    print("journey complete", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080",
                        help="the gateway's base URL (default %(default)s)")
    parser.add_argument("--credentials", default="data/sandbox-credentials.json",
                        help="the sandbox client's credentials file (default %(default)s)")
    parser.add_argument("--aadhaar", default=CITIZEN_AADHAAR,
                        help="the sandbox citizen who signs in (default %(default)s)")
    parser.add_argument("--play-user", metavar="URL",
                        help="only play the user on this request url; print where they land")
    args = parser.parse_args()
    try:
        if args.play_user:
            parts = urllib.parse.urlsplit(args.play_user)
            origin = f"{parts.scheme}://{parts.netloc}"
            print(SandboxUser(origin).consent(args.play_user, args.aadhaar))
            return 0
        with open(args.credentials, encoding="utf-8") as f:
            credentials = json.load(f)
        journey(Gateway(args.base, credentials), args.base.rstrip("/"), args.aadhaar)
        return 0
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    except (OSError, KeyError, ValueError) as e:
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
