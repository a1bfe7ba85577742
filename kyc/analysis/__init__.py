"""The built-in analysis engine: document forensics and MRZ reading, pure functions on bytes.

`analyse()` is the entry point (kyc.analysis.engine); the modules beside it each handle one
thing: pdf, image, mrz (ICAO 9303 parsing), ocr (RapidOCR), identity (MRZ judgement and the
Artemis key set), editors (software that betrays an edit), countries (MRZ codes).
"""

from __future__ import annotations

from kyc.analysis.engine import IDENTITY_KINDS, Analysis, analyse, supported
from kyc.analysis.findings import Finding

__all__ = ["IDENTITY_KINDS", "Analysis", "Finding", "analyse", "supported"]
