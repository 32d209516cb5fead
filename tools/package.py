"""`make package`: `chalice package` for a stage, then the Lambda zip without what the app never loads.

Chalice zips app.py, chalicelib/ and everything pip installs for requirements.txt, and has no way to
leave a file out. This rewrites build/<stage>/deployment.zip without (docs/deploy.md, "What goes
into the Lambda zip", says why each is safe):

* botocore's models of the ~400 services the app never calls: botocore reads a service's model only
  when a client for it is made, and `chalicelib.adapters.aws.SERVICES` is every service the app
  makes a client for (a client for any other fails there, in the tests);
* phonenumbers' geocoder, carrier and time-zone data: the app parses, validates and formats numbers
  only (this is exactly what the phonenumberslite distribution leaves out);
* `holidays` translations of other countries' holiday names: the app builds China's calendar only;
* python-stdnum's data files except China's region codes: the app uses `stdnum.luhn` and
  `stdnum.cn.ric` only;
* `__pycache__` from the developer's tree (stale modules included): not the source it ships.

`python -m tools.package --stage dev build/dev` (what `make package STAGE=dev` runs) writes
build/dev/sam.yaml and build/dev/deployment.zip and prints the zip's size.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from chalicelib.adapters.aws import SERVICES

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHALICE = Path(sys.executable).parent / "chalice"
REGION = "ap-southeast-1"
MERGE_TEMPLATE = "infra/resources.yaml"
MAX_ZIP_BYTES = 15_000_000  # the budget tests/infra/test_package.py holds the zip to

# chalicelib/adapters/business_calendar.py builds `holidays.country_holidays("CN")` and nothing else.
HOLIDAY_ENTITIES = frozenset({"CN"})
# stdnum.cn.ric reads cn/loc.dat (birth places); stdnum.luhn has no data.
STDNUM_DATA = frozenset({"stdnum/cn/loc.dat"})

_BOTOCORE_MODEL = re.compile(r"botocore/data/([^/]+)/")
_PHONENUMBERS_EXTRAS = re.compile(r"phonenumbers/(geodata|carrierdata|tzdata)/")
_HOLIDAY_TRANSLATION = re.compile(r"holidays/locale/[^/]+/LC_MESSAGES/([^/]+)\.mo$")


def left_out(name: str) -> str | None:
    """Why the zip entry `name` is left out of the Lambda zip, or None when it stays."""
    model = _BOTOCORE_MODEL.match(name)
    if model and model.group(1) not in SERVICES:
        return "botocore models of services the app never calls"
    if _PHONENUMBERS_EXTRAS.match(name):
        return "phonenumbers geocoder/carrier/time-zone data"
    translation = _HOLIDAY_TRANSLATION.match(name)
    if translation and translation.group(1) not in HOLIDAY_ENTITIES:
        return "holidays translations of other countries"
    if name.startswith("stdnum/") and name.endswith(".dat") and name not in STDNUM_DATA:
        return "python-stdnum data of formats the app never checks"
    if "__pycache__/" in name:
        return "__pycache__ from the work tree"
    return None


def slim(zip_path: Path) -> Counter[str]:
    """Rewrite `zip_path` without what `left_out` names; returns compressed bytes left out per reason."""
    dropped: Counter[str] = Counter()
    slimmed = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            reason = left_out(entry.filename)
            if reason is None:
                target.writestr(entry, source.read(entry))
            else:
                dropped[reason] += entry.compress_size
    slimmed.replace(zip_path)
    return dropped


def package(stage: str, out: Path, region: str = REGION) -> Counter[str]:
    """`chalice package --stage <stage> --merge-template infra/resources.yaml <out>`, then `slim` of
    out/deployment.zip (which out/sam.yaml names). Returns what `slim` left out."""
    env = {**os.environ, "AWS_DEFAULT_REGION": region}
    command = [str(CHALICE), "package", "--stage", stage, "--merge-template", MERGE_TEMPLATE, str(out)]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chalice package --stage {stage} failed:\n{result.stdout}\n{result.stderr}")
    return slim(Path(out) / "deployment.zip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--region", default=REGION)
    parser.add_argument("out", type=Path, help="the output directory, e.g. build/prod")
    args = parser.parse_args(argv)
    dropped = package(args.stage, args.out, args.region)
    zip_path = args.out / "deployment.zip"
    size = zip_path.stat().st_size
    print(f"{args.out / 'sam.yaml'}, {zip_path}: {size / 1e6:.1f} MB; left out of chalice's zip:")
    for reason, compressed in dropped.most_common():
        print(f"  {compressed / 1e6:5.1f} MB  {reason}")
    if size > MAX_ZIP_BYTES:
        print(f"The zip is over its {MAX_ZIP_BYTES / 1e6:.0f} MB budget (docs/deploy.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
