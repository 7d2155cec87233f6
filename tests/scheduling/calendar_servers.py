"""Real calendar servers for tests: Radicale (CalDAV) as a process, and an .ics feed served
over local HTTP. Both listen on free ports chosen by the operating system."""

import contextlib
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import caldav


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port, process, *, attempts=200):
    for _ in range(attempts):
        if process.poll() is not None:
            raise RuntimeError(f"Radicale exited: {process.stderr.read().decode()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)  # waiting for a process to start, not for the code under test
    raise RuntimeError("Radicale did not start listening")


@contextlib.contextmanager
def radicale_running(storage_folder):
    """Radicale with no authentication (any user name is accepted) on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "",
         "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none",
         "--storage-filesystem-folder", str(storage_folder), "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def caldav_calendar(server_url, username, calendar_id, name):
    """A fresh calendar in `username`'s Radicale account (the caldav library, as a person's
    calendar app would make it)."""
    client = caldav.DAVClient(url=server_url, username=username, password="app-password",
                              enable_rfc6764=False)
    return client.principal().make_calendar(name=name, cal_id=calendar_id)


class FeedServer:
    """Serves `body` at any path; `status` can be changed to make the feed fail."""

    def __init__(self, body):
        self.body, self.status, self.requests = body, 200, 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                feed.requests += 1
                payload = feed.body.encode() if feed.status == 200 else b"unavailable"
                self.send_response(feed.status)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/private-a1b2c3/basic.ics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


VTIMEZONE_BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE"""

VTIMEZONE_NEW_YORK = """BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
END:VTIMEZONE"""

VTIMEZONE_LOS_ANGELES = """BEGIN:VTIMEZONE
TZID:America/Los_Angeles
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
END:DAYLIGHT
END:VTIMEZONE"""


def vcalendar(*parts):
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Rally tests//EN",
                        *parts, "END:VCALENDAR"]) + "\r\n"


def vevent(uid, *lines):
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260201T000000Z", *lines,
                        "END:VEVENT"])
