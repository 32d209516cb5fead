"""Operator commands, run with the stage's environment against its AWS account.

    python -m chalicelib.cli create-agent --email lead@okpay.example [--name "客服 小王"]
    python -m chalicelib.cli set-role (--email li@example.com | --user-id usr_…) --role agent|user

The password is read from the terminal (or OKPAY_AGENT_PASSWORD for automation), never from
the command line, where shell history and process lists would keep it. Agents are created and
roles changed only this way, never over HTTP. A role change signs the person out everywhere.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from chalicelib.errors import OkpayError
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.identity.agents import create_agent, set_role
from chalicelib.services.identity.password_policy import check_password
from chalicelib.store.users import email_claim, find_claim_owner, get_user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-agent", help="create a support agent with a verified email")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Okpay Support")
    role = commands.add_parser("set-role", help="make a user an agent or an agent a user (revokes their sessions)")
    who = role.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the account's verified email")
    who.add_argument("--user-id")
    role.add_argument("--role", required=True, choices=["agent", "user"])
    args = parser.parse_args(argv)
    if args.command == "set-role":
        return _set_role(args)
    return _create_agent(args)


def _create_agent(args: argparse.Namespace) -> int:
    password = os.environ.get("OKPAY_AGENT_PASSWORD") or getpass.getpass("Agent password: ")
    try:
        check_password(password, email=args.email)
        agent_id, created = create_agent(args.email, password, display_name=args.name)
    except OkpayError as error:
        print(f"refused: {error.code} ({error.reason or error.field or ''})", file=sys.stderr)
        return 2
    if not created:
        existing = get_user(agent_id)
        if existing is not None and existing.role != "agent":  # never report a customer as an agent
            print(f"refused: {agent_id} is a user's account; promote it with set-role", file=sys.stderr)
            return 2
    print(f"{'created' if created else 'already exists'}: {agent_id}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    try:
        user_id = args.user_id or find_claim_owner(email_claim(normalize_email(args.email)))
        if user_id is None:
            raise OkpayError("not_found")
        changed = set_role(user_id, args.role)
    except OkpayError as error:
        print(f"refused: {error.code} ({error.reason or error.field or ''})", file=sys.stderr)
        return 2
    print(f"now {args.role}, every session revoked: {user_id}" if changed else f"already {args.role}: {user_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
