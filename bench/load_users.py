"""The simulated members of perf-load (a locustfile; bench/perf_load.py runs it headless).

`FloorMember` only opens the minimal signed-in page; `WorkingMember` works through the pages
a research team keeps open. Each simulated person signs in as one of the roles (sessions made
by perf_load.py, passed in the file named by RALLY_LOAD_CONFIG), in turn.
"""

import itertools
import json
import os
from pathlib import Path

from locust import HttpUser, constant, task

CONFIG = json.loads(Path(os.environ["RALLY_LOAD_CONFIG"]).read_text())
_roles = itertools.cycle(CONFIG["roles"])
_invitable = iter(CONFIG["invitable"])  # each applicant is invited once, by whoever comes next


class _Member(HttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self):
        self.role = next(_roles)
        self.client.cookies.set("sessionid", CONFIG["sessions"][self.role])
        self.client.cookies.set("csrftoken", CONFIG["csrf"])

    def _get(self, name):
        self.client.get(CONFIG["urls"][name], name=name)


class FloorMember(_Member):
    @task
    def minimal(self):
        self._get("minimal")


class WorkingMember(_Member):
    @task(3)
    def dashboard(self):
        self._get("dashboard")

    @task(3)
    def studies(self):
        self._get("studies")

    @task(3)
    def overview(self):
        self._get("overview")

    @task(3)
    def participants(self):
        self._get("participants")

    @task(2)
    def reach(self):
        self.client.get(CONFIG["urls"]["reach"], name="reach", headers={"HX-Request": "true"})

    @task(1)
    def invite(self):
        if self.role not in CONFIG["reviewers"]:
            self._get("participants")
            return
        application = next(_invitable, None)
        if application is None:
            self._get("participants")
            return
        url = CONFIG["urls"]["invite"].replace("APPLICATION", application)
        # A signed-in person's form post: redirected back to the list (not followed).
        with self.client.post(url, data={"csrfmiddlewaretoken": CONFIG["csrf"]},
                              headers={"Referer": CONFIG["host"]}, name="invite",
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"invite answered {response.status_code}")
