from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo and benchmark data (`seed_demo`, `seed_bench`): no models, no URLs, and nothing in
    `kyc` imports it. It writes through kyc's services and job engine like any other client."""

    name = "demo"
    verbose_name = "Demo data"
