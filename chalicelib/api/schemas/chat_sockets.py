"""Response models of the live-chat WebSocket tickets (chalicelib/api/support/chat_sockets.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.schemas.common import ResponseBody, examples


class WsTicket(ResponseBody):
    model_config = examples(
        {
            "ticket": "wst_q3Jd8Zr0bX5mYf2Lk9TcV7nW1pHs4uAe6GiOyRtDjKw",
            "url": "wss://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api",
            "expires_in": 60,
        }
    )

    ticket: str = Field(description="One connect: pass it as `?ticket=` on `url`. Single use.")
    url: str = Field(
        description="Where to connect: `wss://…` deployed, `ws://127.0.0.1:<port + 1>` in the local stage."
    )
    expires_in: Literal[60] = Field(description="Seconds the ticket is good for.")
