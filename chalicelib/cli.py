"""Operator commands, run with the stage's environment against its AWS account.

    python -m chalicelib.cli create-agent --email lead@okpay.example [--name "客服 小王"]

The password is read from the terminal (or OKPAY_AGENT_PASSWORD for automation), never from
the command line, where shell history and process lists would keep it. Agents are created only
this way, never over HTTP.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-agent", help="create a support agent with a verified email")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Okpay Support")
    args = parser.parse_args(argv)

    from chalicelib.errors import OkpayError
    from chalicelib.services.agents import create_agent
    from chalicelib.services.password_policy import check_password

    password = os.environ.get("OKPAY_AGENT_PASSWORD") or getpass.getpass("Agent password: ")
    try:
        check_password(password, email=args.email)
        agent_id, created = create_agent(args.email, password, display_name=args.name)
    except OkpayError as error:
        print(f"refused: {error.code} ({error.reason or error.field or ''})", file=sys.stderr)
        return 2
    print(f"{'created' if created else 'already exists'}: {agent_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
