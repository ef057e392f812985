"""Client IPs: forwarded addresses count only when the peer is a trusted proxy."""

from portal.web.net import resolve_client_ip


def test_without_trusted_proxies_the_peer_is_the_client():
    assert resolve_client_ip("203.0.113.5", "1.2.3.4", ()) == "203.0.113.5"


def test_an_untrusted_peer_cannot_claim_another_ip():
    assert resolve_client_ip("203.0.113.5", "1.2.3.4", ("127.0.0.1",)) == "203.0.113.5"


def test_a_trusted_proxy_passes_the_client_on():
    assert resolve_client_ip("127.0.0.1", "198.51.100.7", ("127.0.0.1",)) == "198.51.100.7"


def test_spoofed_leftmost_entries_are_ignored():
    # client forged "6.6.6.6"; the proxy appended the real peer 198.51.100.7
    assert resolve_client_ip("10.0.0.2", "6.6.6.6, 198.51.100.7", ("10.0.0.0/8",)) == "198.51.100.7"


def test_chains_of_trusted_proxies_are_skipped():
    assert resolve_client_ip("10.0.0.2", "198.51.100.7, 10.0.0.9", ("10.0.0.0/8",)) == "198.51.100.7"
