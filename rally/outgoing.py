"""Outgoing HTTP: the TLS context every `httpx.Client` Rally makes shares.

Building a context reads and parses the CA bundle (certifi's, as httpx does by default):
about 25 ms of CPU, which every new client paid again. A context is safe to share between
threads, and nothing Rally does changes it after it is made.
"""

import functools

import httpx


@functools.cache
def tls_context():
    """The process's one TLS context (httpx's defaults: certifi's CAs, SSL_CERT_FILE and
    SSL_CERT_DIR honoured)."""
    return httpx.create_ssl_context()
