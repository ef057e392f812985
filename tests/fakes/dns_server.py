"""A real DNS server for the tests (dnslib, UDP on 127.0.0.1), whose records a test sets.

    dns = FakeDNS().start()
    dns.cname("portal.agency.test", "portal.example.test")
    settings = dataclasses.replace(settings, dns_servers=(dns.address,))

A name with no record answers NXDOMAIN; ``a()`` gives a name an A record only (a CNAME
lookup then has no answer); ``silence()`` makes the server drop questions for a name (the
lookup times out). ``asked`` lists the names asked, in order. With ``default_a``, every
A question is answered with that address (after the CNAME, if the name has one): what an
ACME CA asks to reach a domain it validates.
"""

from __future__ import annotations

from dnslib import CNAME, QTYPE, RCODE, RR, A, DNSError
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Resolver(BaseResolver):
    def __init__(self, fake: FakeDNS) -> None:
        self.fake = fake

    def resolve(self, request, handler):
        name = str(request.q.qname).rstrip(".").lower()
        self.fake.asked.append(name)
        if name in self.fake.silent:
            raise DNSError("dropped")  # the handler sends no reply
        reply = request.reply()
        record = self.fake.records.get(name)
        if record is None and self.fake.default_a:
            return self._default(request)
        if record is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif record[0] == "CNAME":
            reply.add_answer(RR(request.q.qname, QTYPE.CNAME, rdata=CNAME(record[1] + "."), ttl=60))
            if request.q.qtype == QTYPE.A and self.fake.default_a:
                reply.add_answer(RR(record[1] + ".", QTYPE.A, rdata=A(self.fake.default_a), ttl=60))
        elif record[0] == "A" and request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(record[1]), ttl=60))
        return reply

    def _default(self, request):
        reply = request.reply()
        if request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.fake.default_a), ttl=60))
        return reply


class FakeDNS:
    def __init__(self, default_a: str = "") -> None:
        self.default_a = default_a
        self.records: dict[str, tuple[str, str]] = {}
        self.silent: set[str] = set()
        self.asked: list[str] = []
        self.server: DNSServer | None = None

    def start(self) -> FakeDNS:
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data")
        self.server = DNSServer(_Resolver(self), address="127.0.0.1", port=0, logger=quiet)
        self.server.start_thread()
        return self

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server.server_address[:2]

    @property
    def setting(self) -> str:
        """The value of PORTAL_DNS_SERVERS that names this server."""
        host, port = self.address
        return f"{host}:{port}"

    def cname(self, name: str, target: str) -> None:
        self.silent.discard(name)
        self.records[name] = ("CNAME", target)

    def a(self, name: str, ip: str) -> None:
        self.silent.discard(name)
        self.records[name] = ("A", ip)

    def clear(self, name: str) -> None:
        self.silent.discard(name)
        self.records.pop(name, None)

    def silence(self, name: str) -> None:
        self.silent.add(name)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
