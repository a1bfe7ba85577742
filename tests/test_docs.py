"""The README and .env.example document every environment variable the settings read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings_variables() -> set[str]:
    source = (ROOT / "kyc" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_the_settings_read_variables_at_all():
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MINDEE_API_KEY"} <= settings_variables()


def test_every_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in settings_variables() if f"`{name}`" not in readme)
    assert missing == []


def test_every_variable_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert sorted(settings_variables() - listed) == []
