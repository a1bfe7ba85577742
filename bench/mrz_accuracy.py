"""MRZ reading accuracy and speed on generated specimens, per degradation variant.

    .venv/bin/python -m bench.mrz_accuracy [--count 12] [--tampered 12] [--seed 9303] [--json]

For each of `count` identities (cycling TD3, TD1, TD2) the specimen is drawn clean and in each
degraded variant (kyc tests' specimens.VARIANTS), read by kyc.analysis.ocr.read_mrz and parsed by
kyc.analysis.mrz. An image counts as exact when every parsed MRZ field equals the truth (and,
stricter, when every character of every line does). Tampered specimens count as caught when a
check digit fails. Seconds per image are wall-clock for read_mrz (MRZ and printed-field passes),
after one warm-up image that also loads the model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kyc.analysis import ocr
from kyc.analysis.mrz import MrzResult, parse_mrz
from tests.analysis.specimens import (
    TODAY,
    VARIANTS,
    specimens,
    tampered_specimens,
)

FIELDS = (
    "document_code",
    "issuing_country",
    "surname",
    "given_names",
    "document_number",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
    "optional_data",
    "optional_data_2",
)


def fields_of(result: MrzResult | None) -> dict[str, object]:
    if result is None:
        return {}
    return {name: getattr(result, name) for name in FIELDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12, help="identities per variant")
    parser.add_argument("--tampered", type=int, default=12, help="tampered specimens")
    parser.add_argument("--seed", type=int, default=9303)
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    args = parser.parse_args(argv)

    warm = next(specimens(1, variants=("clean",), seed=1))
    started = time.perf_counter()
    ocr.read_mrz(warm.image)
    load_seconds = time.perf_counter() - started

    exact_fields: dict[str, list[bool]] = defaultdict(list)
    exact_lines: dict[str, list[bool]] = defaultdict(list)
    seconds: dict[str, list[float]] = defaultdict(list)
    misses: list[dict[str, object]] = []
    for specimen in specimens(args.count, seed=args.seed):
        started = time.perf_counter()
        reading = ocr.read_mrz(specimen.image)
        seconds[specimen.variant].append(time.perf_counter() - started)
        truth = fields_of(parse_mrz(specimen.lines, today=TODAY))
        read = fields_of(parse_mrz(reading.lines, today=TODAY)) if reading.found else {}
        exact_fields[specimen.variant].append(read == truth)
        exact_lines[specimen.variant].append(reading.lines == specimen.lines)
        if reading.lines != specimen.lines:
            misses.append(
                {
                    "variant": specimen.variant,
                    "format": specimen.identity.fmt,
                    "truth": list(specimen.lines),
                    "read": list(reading.lines),
                    "passes": list(reading.passes),
                }
            )
    caught = []
    for specimen in tampered_specimens(args.tampered, seed=args.seed + 1):
        reading = ocr.read_mrz(specimen.image)
        result = parse_mrz(reading.lines, today=TODAY) if reading.found else None
        caught.append(result is None or not result.checks_valid)

    rows = []
    for variant in VARIANTS:
        if not seconds[variant]:
            continue
        rows.append(
            {
                "variant": variant,
                "images": len(seconds[variant]),
                "all_fields_exact": sum(exact_fields[variant]) / len(exact_fields[variant]),
                "lines_exact": sum(exact_lines[variant]) / len(exact_lines[variant]),
                "seconds_mean": statistics.mean(seconds[variant]),
                "seconds_max": max(seconds[variant]),
            }
        )
    degraded = [ok for v in VARIANTS if v != "clean" for ok in exact_fields[v]]
    all_seconds = [s for values in seconds.values() for s in values]
    summary = {
        "variants": rows,
        "degraded_all_fields_exact": sum(degraded) / len(degraded) if degraded else None,
        "tampered": len(caught),
        "tampered_caught": sum(caught),
        "seconds_per_image": statistics.mean(all_seconds),
        "first_image_seconds_with_model_load": load_seconds,
        "model_loads": ocr.load_count(),
        "misses": misses,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    header = ("variant", "images", "fields exact", "lines exact", "s/img", "max")
    print("{:<10} {:>6} {:>12} {:>11} {:>6} {:>6}".format(*header))
    for row in rows:
        print(
            f"{row['variant']:<10} {row['images']:>6} {row['all_fields_exact']:>12.1%} "
            f"{row['lines_exact']:>11.1%} {row['seconds_mean']:>6.2f} {row['seconds_max']:>6.2f}"
        )
    print(f"degraded, all variants: {summary['degraded_all_fields_exact']:.1%} fields exact")
    print(f"tampered caught: {summary['tampered_caught']}/{summary['tampered']}")
    print(
        f"seconds per image: {summary['seconds_per_image']:.2f} "
        f"(first image, model load included: {load_seconds:.2f}); "
        f"model loads in this process: {summary['model_loads']}"
    )
    for miss in misses:
        print(
            f"miss [{miss['variant']} {miss['format']}] read {miss['read']} truth {miss['truth']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
