"""Run from tests/infra/test_package.py as `python -I -S lambda_smoke.py <unzipped package> <module> ...`:
the Lambda zip alone, with nothing on sys.path but the unzipped package and the standard library, as
in the python3.11 runtime (whose own boto3 is shadowed by the one the zip carries).

Imports app.py and every module the package's code imports anywhere (the modules are given on the
command line), answers two requests through the Lambda entry point, and uses each data file that
tools/package.py keeps: a file left out by mistake fails here, not in Lambda. No AWS call is made.
"""

import importlib
import json
import sys
import sysconfig
from datetime import date
from pathlib import Path

PACKAGE = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(PACKAGE))
STDLIB = {Path(sysconfig.get_paths()[name]).resolve() for name in ("stdlib", "platstdlib")}


def outside_package_and_stdlib() -> list[str]:
    strays = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if not origin:
            continue
        path = Path(origin).resolve()
        if path == Path(__file__).resolve():  # this script (as __main__)
            continue
        if not path.is_relative_to(PACKAGE) and not any(path.is_relative_to(root) for root in STDLIB):
            strays.append(f"{name} from {path}")
    return strays


class Context:
    function_name = "okpay-dev-APIHandler"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:okpay-dev-APIHandler"
    memory_limit_in_mb = 1024
    aws_request_id = "smoke-request"
    log_group_name = "/aws/lambda/okpay-dev-APIHandler"
    log_stream_name = "smoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def invoke(app, path: str) -> dict:
    """A REST API proxy event for GET `path`, through the handler Lambda calls (`app.app`)."""
    headers = {"Accept-Language": "zh-CN", "Host": "api.okpay.example"}
    event = {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "smoke-request",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    return app.app(event, Context())


def main() -> None:
    import app

    for name in sys.argv[2:]:
        importlib.import_module(name)

    health = invoke(app, "/health")
    assert health["statusCode"] == 200, health
    document = invoke(app, "/openapi.json")
    assert document["statusCode"] == 200, document["statusCode"]
    assert "/health" in json.loads(document["body"])["paths"]

    # botocore: a client of every service the app calls (the model and endpoint rules are read here).
    import boto3

    from chalicelib.adapters.aws import SERVICES

    session = boto3.session.Session()
    for service in sorted(SERVICES):
        assert session.client(service, region_name="ap-southeast-1").meta.service_model.service_name == service

    # phonenumbers: the metadata it parses, validates and formats with.
    import phonenumbers

    number = phonenumbers.parse("138 0013 8000", "CN")
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == "+8613800138000"
    assert phonenumbers.is_valid_number(phonenumbers.parse("+85261234567", None))
    assert "CN" in phonenumbers.SUPPORTED_REGIONS

    # python-stdnum: China's region codes (cn/loc.dat) and the Luhn check.
    from stdnum import luhn
    from stdnum.cn import ric

    assert ric.is_valid("11010519491231002X")
    assert ric.get_birth_place("11010519491231002X")
    assert luhn.is_valid("6222021234567890128")

    # The working-day calendars: chinesecalendar's table, and `holidays` China with its translations.
    import chinese_calendar
    import holidays

    assert not chinese_calendar.is_workday(date(2025, 10, 1))
    assert date(2025, 10, 1) in holidays.country_holidays("CN", years=2025)
    assert holidays.country_holidays("CN", years=2025, language="zh_CN")[date(2025, 10, 1)] == "国庆节"

    # zxcvbn's dictionaries, argon2, AES-GCM, JWT, TOTP, e-mail syntax, the Shanghai time zone.
    from zxcvbn import zxcvbn

    assert zxcvbn("password")["score"] == 0
    assert zxcvbn("Plum-Orbit-Canvas-93!")["score"] >= 3

    from argon2 import PasswordHasher

    hasher = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)
    assert hasher.verify(hasher.hash("secret"), "secret")

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, nonce = AESGCM.generate_key(bit_length=256), b"\0" * 12
    assert AESGCM(key).decrypt(nonce, AESGCM(key).encrypt(nonce, b"x", None), None) == b"x"

    import jwt
    import pyotp

    assert jwt.decode(jwt.encode({"sub": "u"}, "k" * 32, algorithm="HS256"), "k" * 32, algorithms=["HS256"])
    assert len(pyotp.TOTP(pyotp.random_base32()).now()) == 6

    from email_validator import validate_email

    assert validate_email("someone@okpay.example", check_deliverability=False).normalized

    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    assert datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")).utcoffset() == timedelta(hours=8)

    strays = outside_package_and_stdlib()
    assert not strays, strays
    print("ok")


if __name__ == "__main__":
    main()
