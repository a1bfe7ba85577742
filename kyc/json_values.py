"""Reading untrusted JSON (vendor answers, stored payloads) without `isinstance` chains.

A vendor's member may be missing, null or of another shape than documented: code that reads one
treats all three as absent, and these helpers give it a value of one known type to do so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_object(value: object) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}
