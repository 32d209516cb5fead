"""`webhook_url` must not point the webhooks inside our network (SSRF): contract v1.2, section 14.

Name resolution is a table here (tests/merchants/conftest.py): no test touches the network.
"""

from __future__ import annotations

import pytest

from chalicelib.errors import OkpayError
from chalicelib.services.wallet import webhook_urls
from tests.helpers.http import assert_error, body_of
from tests.helpers.merchants import DEMO_MERCHANT, create_merchant, patch_merchant

REFUSED_HOSTS = {
    "private.example.com": ["10.0.0.8"],
    "rfc1918.example.com": ["192.168.1.20"],
    "corp.example.com": ["172.16.4.4"],
    "loop.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "cgnat.example.com": ["100.64.0.9"],
    "zero.example.com": ["0.0.0.0"],  # noqa: S104
    "multicast.example.com": ["224.0.0.251"],
    "reserved.example.com": ["240.0.0.1"],
    "v6loop.example.com": ["::1"],
    "v6ula.example.com": ["fd00::1"],
    "v6link.example.com": ["fe80::1"],
    "v6mapped.example.com": ["::ffff:10.0.0.8"],
    "v6mapped-loop.example.com": ["::ffff:127.0.0.1"],
    "nat64.example.com": ["64:ff9b::a00:8"],
    "sixtofour.example.com": ["2002:a00:8::1"],
    # one good address does not excuse a bad one
    "mixed.example.com": ["93.184.216.34", "10.0.0.8"],
}


@pytest.fixture
def resolver(fake_dns):
    fake_dns.names.update(REFUSED_HOSTS)
    return fake_dns


@pytest.mark.parametrize(
    "url",
    [
        *(f"https://{host}/hooks" for host in REFUSED_HOSTS),
        "http://shop.example.com/hooks",  # not https
        "ftp://shop.example.com/hooks",
        "https://nowhere.example.com/hooks",  # resolves to nothing
        "https://127.0.0.1/hooks",
        "https://2130706433/hooks",  # 127.0.0.1 written as one decimal number
        "https://0x7f000001/hooks",  # … in hex
        "https://0177.0.0.1/hooks",  # … in octal
        "https://127.1/hooks",  # … shortened
        "https://10.1/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:169.254.169.254]/hooks",
        "https://[fe80::1%25eth0]/hooks",
        "https://user:pass@shop.example.com/hooks",  # credentials in the URL
        "https://shop.example.com:99999/hooks",  # no such port
        "https:///hooks",
        "not a url",
        "http://127.0.0.1/hooks",  # the local exception needs a port …
        "http://localhost:8080/hooks",  # … and the address itself
        "http://127.0.0.2:8080/hooks",
    ],
)
def test_an_unsafe_webhook_url_is_refused_on_create_and_on_change(client, agent, resolver, url):
    assert_error(create_merchant(client, agent, webhook_url=url), 400, "validation_error", field="webhook_url")
    assert_error(
        patch_merchant(client, agent, DEMO_MERCHANT, webhook_url=url), 400, "validation_error", field="webhook_url"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/okpay/hooks",  # public IPv4 and IPv6
        "https://shop.example.com:8443/hooks?v=2",
        "https://93.184.216.34/hooks",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hooks",
        "http://127.0.0.1:9099/hooks",  # the local stage's test receiver
    ],
)
def test_a_public_https_url_and_the_local_receiver_are_accepted(client, agent, resolver, url):
    response = create_merchant(client, agent, webhook_url=url)
    assert response.status_code == 201, response.body
    assert body_of(response)["webhook_url"] == url


def test_a_numeric_host_is_read_as_an_address_not_looked_up(client, agent, resolver):
    resolver.names["2130706433"] = ["93.184.216.34"]  # a resolver that would say "public"
    assert_error(create_merchant(client, agent, webhook_url="https://2130706433/"), 400, "validation_error")
    assert "2130706433" not in resolver.asked


def test_the_local_exception_is_the_local_stages_only(resolver):
    # Deployed stages build the same check with local=False (chalicelib.services.wallet.merchants).
    with pytest.raises(OkpayError) as refused:
        webhook_urls.checked_webhook_url("http://127.0.0.1:9099/hooks", local=False)
    assert (refused.value.code, refused.value.field) == ("validation_error", "webhook_url")
    assert webhook_urls.checked_webhook_url("https://shop.example.com/h", local=False) == "https://shop.example.com/h"
