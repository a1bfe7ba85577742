"""gunicorn settings for the dashboard's web process: `gunicorn kyc.wsgi` reads this file from the
working directory (the repository root). Every value can be changed from the environment; the
README's "Running in production" section lists the variables.

Run it behind a reverse proxy that terminates TLS and buffers request bodies (uploads are up to
20 MB; sync workers must not be held by slow clients).
"""

from __future__ import annotations

import multiprocessing
import os


def _str(name: str, default: str) -> str:
    # Empty means unset, as in .env.example.
    return os.environ.get(name) or default


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


def _default_workers() -> int:
    # gunicorn's usual 2 x cores + 1, capped: each worker holds its own database connection and
    # its own memory, and the OCR engine runs in task workers, not here.
    return min(2 * multiprocessing.cpu_count() + 1, 12)


bind = _str("GUNICORN_BIND", f"0.0.0.0:{_str('PORT', '8000')}")
workers = _int("WEB_CONCURRENCY", _default_workers())
threads = _int("GUNICORN_THREADS", 1)
# Upload validation and PDF page rendering take a few seconds at most; past this the worker is
# presumed stuck, killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (jittered so they do not all restart together): bounds the growth
# of long-lived processes (PDF rendering, image decoding).
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Load Django once in the master and fork workers from it: a recycled worker is serving again in
# milliseconds instead of the second it takes to import Django and the app, during which its
# share of requests waited (bench/: the live-status poll's p99 went from about 1 s to 32 ms and
# its throughput up by a third). Nothing opens a database connection at import time, so no
# connection is shared between workers. A code deploy needs a restart, not a HUP.
preload_app = _str("GUNICORN_PRELOAD", "true").lower() in {"1", "true", "yes", "on"}


def when_ready(server):
    """In the master, once the app is loaded: warm what every worker would otherwise load on its
    first requests (kyc/warmup.py)."""
    if preload_app:
        from kyc.warmup import warm_up

        warm_up()


# Which proxies may set X-Forwarded-Proto (and so make a request "secure"); Django trusts the
# header only with BEHIND_TLS_PROXY=True as well.
forwarded_allow_ips = _str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The audit log records REMOTE_ADDR. Behind a proxy that is the proxy's address unless the proxy
# speaks the PROXY protocol (HAProxy `send-proxy`, a cloud TCP load balancer): then set
# GUNICORN_PROXY_PROTOCOL=auto and REMOTE_ADDR is the client's.
proxy_protocol = _str("GUNICORN_PROXY_PROTOCOL", "off")
proxy_allow_ips = forwarded_allow_ips

# Access log on stdout with the request id the app sets (X-Request-ID), so an access line and
# the application's log lines of the same request can be matched.
accesslog = _str("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = _str("LOG_LEVEL", "info").lower()
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s"
)

if os.environ.get("LOG_FORMAT") == "json":
    # gunicorn's own lines (start-up, worker restarts, access log) as JSON too, one per line.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "kyc.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "gunicorn.error": {
                "handlers": ["console"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
