"""`make run`: the local stage on an embedded moto server, in one process.

Starts moto on a free loopback port, creates the stage's tables, bucket, topic and SES sender from
infra/resources.yaml, seeds demo data, then serves the app as `chalice local --stage local` does
on 127.0.0.1:$PORT (default 8000), and its live-chat WebSocket on ws://127.0.0.1:$((PORT+1))
(localstage/ws_bridge.py). Ctrl-C (or SIGTERM) stops them all; nothing is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
STAGE = "local"


def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The environment variables .chalice/config.json gives `stage` (top level, then the stage's)."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def use_moto_environment(endpoint: str | None = None) -> None:
    """Point every AWS client at moto with dummy credentials, so nothing can reach a real account."""
    os.environ.update(stage_environment())
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy credentials)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-1")
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    allow_dot_local_emails()


def allow_dot_local_emails() -> None:
    """The local stage's demo addresses end in .local, a special-use name deployed stages refuse."""
    import email_validator

    if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


def _free_port(*, besides: tuple[int, ...] = ()) -> int:
    """A free loopback port other than `besides` (the ports this server is about to take: the OS
    may hand out a port that is free only because we have not bound it yet)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in besides:
            return port


def main() -> int:
    from moto.server import ThreadedMotoServer

    from localstage.moto_isolation import make_dynamodb_atomic

    make_dynamodb_atomic()
    from localstage import faults

    faults.install()  # PUT /_local/faults: before any botocore client is made

    port = int(os.environ.get("PORT", "8000"))
    ws_port = port + 1  # the contract's live-chat WebSocket (section 10)
    moto_port = _free_port(besides=(port, ws_port))
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    use_moto_environment(f"http://127.0.0.1:{moto_port}")
    try:
        import boto3

        from chalicelib.adapters import webhook_relay
        from chalicelib.adapters.config import get_settings
        from localstage import gateway, seed
        from localstage.resources import create_stage_resources

        create_stage_resources(boto3.session.Session(), get_settings())
        print(f"moto on http://127.0.0.1:{moto_port}; seeded {seed.seed()}", flush=True)

        from chalice.cli.factory import CLIFactory
        from chalice.local import create_local_server

        from localstage.ws_bridge import WsBridge

        gateway.install()
        webhook_relay.use_threads()  # a webhook's first attempt never holds up the response
        os.environ["OKPAY_WS_URL"] = f"ws://127.0.0.1:{ws_port}"  # the `url` of a ws-ticket
        factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
        config = factory.create_config_obj(chalice_stage_name=STAGE)
        app = factory.load_chalice_app(environment_variables=config.environment_variables)
        server = create_local_server(app, config, "127.0.0.1", port)
        bridge = WsBridge(app, ws_port)
        bridge.start()
        bridge.install()

        def stop(*_: object) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        print(f"Okpay local stage: http://127.0.0.1:{port}  (Ctrl-C stops it)", flush=True)
        print(f"Okpay live chat WebSocket: {bridge.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        server.server.server_close()
        bridge.stop()
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
