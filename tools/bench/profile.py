"""`make bench ARGS="--profile NAME"`: where one operation's time goes, by the code that spends it.

The timed requests of the first operation whose name contains NAME run under cProfile; each
function's own time is added to the area its module belongs to (moto, which plays DynamoDB here;
botocore; PynamoDB; Chalice; pydantic; our own packages …), so what the app adds to its AWS calls
reads as one short table. The ten costliest functions of our own code follow.
"""

from __future__ import annotations

import cProfile
import pstats
from collections import Counter

# Module path fragment → area, first match wins.
AREAS = (
    ("/moto/", "moto (DynamoDB itself, here)"),
    ("/botocore/", "botocore (requests to AWS, parsing)"),
    ("/boto3/", "boto3"),
    ("/pynamodb/", "PynamoDB (models, serialisation)"),
    ("/chalice/", "Chalice + its test client"),
    ("/pydantic", "pydantic (validation)"),
    ("/aws_lambda_powertools/", "powertools (logging)"),
    ("/logging/", "logging"),
    ("/json/", "json"),
    ("/werkzeug/", "werkzeug (moto's request objects)"),
    ("/responses/", "responses (moto's HTTP interception)"),
    ("/urllib3/", "urllib3"),
    ("/chalicelib/", "chalicelib (our code)"),
    ("/localstage/", "localstage (the local gateway)"),
)


def area_of(filename: str) -> str:
    for fragment, area in AREAS:
        if fragment in filename:
            return area
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C calls)"
    return "python stdlib / other"


def report(profiler: cProfile.Profile, requests: int) -> None:
    stats = pstats.Stats(profiler)
    by_area: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0.0
    for (filename, line, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_area[area_of(filename)] += own
        total += own
        if "/chalicelib/" in filename:
            ours[f"{filename.split('/chalicelib/', 1)[1]}:{line} {name}"] += own
    print(f"  Own time per request by area (cProfile, {requests} requests; profiling slows every call alike):")
    for area, seconds in by_area.most_common():
        print(f"    {area:<42} {seconds / requests * 1000:7.2f} ms  {seconds / total:6.1%}")
    print(f"    {'total':<42} {total / requests * 1000:7.2f} ms")
    print("  Our costliest functions (own time per request):")
    for name, seconds in ours.most_common(10):
        print(f"    {name:<70} {seconds / requests * 1000:6.3f} ms")
