"""Static files as production serves them: collectstatic with whitenoise's compressed
manifest storage, the app under gunicorn, and a browser's request for a stylesheet — hashed
name, gzip and brotli when asked for, a year's immutable cache lifetime."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
YEAR = 365 * 24 * 3600


@pytest.fixture
def production(tmp_path):
    """gunicorn serving Rally with DEBUG off, its static files collected into tmp_path.
    Yields (base URL, the manifest of hashed names)."""
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "production-static-test",
           "UI_API_KEY": "k", "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "ALLOWED_HOSTS": "127.0.0.1", "STATIC_ROOT": str(tmp_path / "static"),
           "SECURE_SSL_REDIRECT": "false"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
                   cwd=ROOT, env=env, check=True, timeout=300)
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    log = tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "rally.wsgi:application",
         "--bind", "127.0.0.1:0", "--workers", "1", "--error-logfile", str(log)],
        cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)",
                                      log.read_text() if log.exists() else "")):
            assert server.poll() is None, log.read_text() if log.exists() else "no log"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield found.group(1), manifest
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_static_files_are_compressed_hashed_and_cached_for_a_year(production):
    base, manifest = production
    hashed = manifest["css/rally.css"]
    assert re.fullmatch(r"css/rally\.[0-9a-f]{12}\.css", hashed)
    url = f"{base}/static/{hashed}"
    with httpx.Client(timeout=10) as client:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        brotli = client.get(url, headers={"Accept-Encoding": "br"})
        unhashed = client.get(f"{base}/static/css/rally.css",
                              headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == zipped.status_code == brotli.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert brotli.headers["Content-Encoding"] == "br"
    assert zipped.content == brotli.content == plain.content  # httpx decodes both
    assert int(zipped.headers["Content-Length"]) < len(plain.content)
    assert "Accept-Encoding" in zipped.headers["Vary"]
    for response in (plain, zipped, brotli):
        cache = response.headers["Cache-Control"]
        assert "immutable" in cache and "public" in cache
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= YEAR
    # The unhashed name (never linked by a page) may change: it is not cached for long.
    assert unhashed.status_code == 200
    assert "immutable" not in unhashed.headers.get("Cache-Control", "")
