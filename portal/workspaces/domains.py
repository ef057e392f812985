"""A workspace's custom domain: the name, its CNAME, verification.

The agency enters a subdomain (``portal.youragency.com``), adds the CNAME record the
page shows (``portal.youragency.com CNAME <PORTAL_CNAME_TARGET>``) and clicks Verify
Domain; the portal answers on that name once the record is found (Growth and Scale).

States (``Workspace.domain_status``): ``none`` (no domain), ``pending`` (entered, not
verified yet: ``domain_error`` says what the last look found), ``verified`` (served),
``failed`` (it was verified, then a later look found the record gone or changed: no
longer served; ``domain_error`` says why).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import re
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from portal import caddy
from portal.accounts.sessions import Principal
from portal.accounts.tables import MANAGERS, StaffMember
from portal.audit.services import record
from portal.clock import now
from portal.errors import Forbidden, Invalid, NotFound
from portal.mail.outbox import enqueue_email
from portal.settings import Settings
from portal.workspaces.plans import allows
from portal.workspaces.tables import Workspace

LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: How long one Verify Domain waits for the DNS servers, in seconds.
LOOKUP_SECONDS = 5.0
#: How often a served (or failed) domain is looked up again by the server itself.
RECHECK_EVERY = dt.timedelta(hours=24)
PROPAGATION = "DNS changes can take up to 48 hours to reach everyone."


def normalise_host(value: str) -> str:
    """A Host header or a typed name as one form: lower case, no port, no trailing dot."""
    host = (value or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def check_name(settings: Settings, typed: str) -> str:
    """The domain as stored, or ``Invalid`` with the reason for the ``domain`` field."""
    raw = (typed or "").strip().lower()
    for prefix in ("https://", "http://"):
        raw = raw.removeprefix(prefix)
    name = raw.rstrip("/").rstrip(".")

    def invalid(message: str) -> Invalid:
        return Invalid({"domain": message})

    if not name:
        raise invalid("Enter the subdomain your clients will use, such as portal.youragency.com.")
    if _is_ip(name.strip("[]")):
        raise invalid("Enter a domain name, not an IP address.")
    labels = name.split(".")
    if len(name) > 253 or not all(LABEL.match(label) for label in labels):
        raise invalid("That is not a valid domain name: use letters, digits, dashes and dots, such as portal.youragency.com.")
    if labels[-1].isdigit():
        raise invalid("That is not a valid domain name: it must end in a name such as .com.")
    if len(labels) < 3:
        raise invalid(f"Use a subdomain such as portal.{name}: a bare domain cannot have a CNAME record.")
    own = settings.base_hostname
    if name == own or name.endswith("." + own):
        raise invalid(f"{name} is this portal's own address; use a domain of your agency's.")
    return name


def require_manager(staff: Principal) -> None:
    if staff.role not in MANAGERS:
        raise Forbidden("Only owners and admins can change the custom domain.")


def require_plan(workspace: dict) -> None:
    if not allows(workspace["plan"], "custom_domain"):
        raise Forbidden("A custom domain comes with the Growth and Scale plans.")


@dataclass(frozen=True)
class Lookup:
    """What the DNS said of a name: ``verified``, or the reason it is not."""

    verified: bool
    reason: str = ""
    found: str = ""  # the CNAME target found, if any


def _resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    if not settings.dns_servers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in settings.dns_servers]
    resolver.lifetime = LOOKUP_SECONDS
    resolver.timeout = LOOKUP_SECONDS / 2
    resolver.cache = None
    return resolver


async def look_up(settings: Settings, name: str) -> Lookup:
    """Ask the DNS for ``name``'s CNAME and compare it with the target."""
    target = settings.cname_target
    try:
        answer = await _resolver(settings).resolve(name, "CNAME", raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return Lookup(False, f"No DNS record for {name} yet. Add the CNAME record below. {PROPAGATION}")
    except dns.resolver.NoAnswer:
        return Lookup(False, f"{name} has no CNAME record yet (it may have another kind of record: replace it "
                             f"with the CNAME below). {PROPAGATION}")
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
        return Lookup(False, f"The DNS lookup of {name} timed out. Please try again in a few minutes.")
    except dns.resolver.NoNameservers:
        return Lookup(False, f"No DNS server answered for {name}. Please try again in a few minutes.")
    except dns.exception.DNSException as exc:
        return Lookup(False, f"The DNS lookup of {name} failed ({exc.__class__.__name__}). Please try again.")
    found = normalise_host(answer[0].target.to_text())
    if found != target:
        return Lookup(False, f"{name} points to {found}, not to {target}. Change the CNAME record to {target}. "
                             f"{PROPAGATION}", found)
    return Lookup(True, found=found)


async def _workspace(workspace_id: int) -> dict:
    row = await Workspace.select(
        Workspace.id, Workspace.slug, Workspace.plan, Workspace.custom_domain, Workspace.domain_status,
        Workspace.domain_checked_at, Workspace.domain_verified_at, Workspace.domain_error,
    ).where(Workspace.id == workspace_id).first()
    if row is None:
        raise NotFound()
    return row


async def domain_of(workspace_id: int) -> dict:
    """The custom domain's state, for the settings page and the CLI."""
    return await _workspace(workspace_id)


async def set_domain(settings: Settings, workspace_id: int, typed: str, *, actor: Principal | None = None) -> str:
    """Enter (or replace) the workspace's domain: pending until verified."""
    workspace = await _workspace(workspace_id)
    require_plan(workspace)
    name = check_name(settings, typed)
    if name == workspace["custom_domain"]:
        return name
    if await Workspace.exists().where(Workspace.custom_domain == name, Workspace.id != workspace_id):
        raise Invalid({"domain": f"{name} is used by another workspace already."})
    await Workspace.update({
        Workspace.custom_domain: name, Workspace.domain_status: "pending", Workspace.domain_error: "",
        Workspace.domain_checked_at: None, Workspace.domain_verified_at: None,
    }).where(Workspace.id == workspace_id)
    if workspace["custom_domain"]:
        await _forget(settings, workspace["custom_domain"])
    await record("domain_set", workspace_id=workspace_id, actor=actor, target_type="workspace",
                 target_id=workspace_id, domain=name, previous=workspace["custom_domain"] or "")
    return name


async def verify_domain(settings: Settings, workspace_id: int, *, actor: Principal | None = None) -> Lookup:
    """Look the domain up now and keep what was found."""
    workspace = await _workspace(workspace_id)
    require_plan(workspace)
    name = workspace["custom_domain"]
    if not name:
        raise Invalid({"domain": "Enter a domain first."})
    result = await look_up(settings, name)
    await _keep(settings, workspace, result)
    await record("domain_verified" if result.verified else "domain_not_verified", workspace_id=workspace_id,
                 actor=actor, target_type="workspace", target_id=workspace_id, domain=name,
                 reason=result.reason)
    return result


async def _keep(settings: Settings, workspace: dict, result: Lookup) -> None:
    """Store what a look found. A served domain that fails stops being served: its
    certificate is forgotten and the owners are told (once, when it stops)."""
    checked = now()
    if result.verified:
        changes = {Workspace.domain_status: "verified", Workspace.domain_error: "", Workspace.domain_checked_at: checked,
                   Workspace.domain_verified_at: workspace["domain_verified_at"] or checked}
    else:
        was_served = workspace["domain_status"] in ("verified", "failed")
        changes = {Workspace.domain_status: "failed" if was_served else "pending", Workspace.domain_error: result.reason,
                   Workspace.domain_checked_at: checked}
    # Only if the domain is still the one looked up (it may have been changed meanwhile).
    kept = await Workspace.update(changes).where(
        Workspace.id == workspace["id"], Workspace.custom_domain == workspace["custom_domain"]).returning(Workspace.id)
    if kept and not result.verified and workspace["domain_status"] == "verified":
        await _forget(settings, workspace["custom_domain"])
        await _tell_owners(settings, workspace, result.reason)


async def _forget(settings: Settings, name: str) -> None:
    """The certificate of a domain no longer served, out of Caddy's storage and memory."""
    await asyncio.to_thread(caddy.forget_certificate, settings, name)


async def _tell_owners(settings: Settings, workspace: dict, reason: str) -> None:
    owners = await StaffMember.select(StaffMember.email).where(
        StaffMember.workspace == workspace["id"], StaffMember.role == "owner", StaffMember.active == True  # noqa: E712
    )
    context = {"domain": workspace["custom_domain"], "reason": reason, "default_url": f"{settings.base_url}/p/{workspace['slug']}/",
               "settings_url": f"{settings.base_url}/studio/settings/portal#domain"}
    for owner in owners:
        await enqueue_email(settings, workspace_id=workspace["id"], to=owner["email"], template="domain_failed",
                            context=context)


async def recheck_due(settings: Settings, batch: int = 20) -> int:
    """Look up again the served and failed domains last checked ``RECHECK_EVERY`` ago (a
    job of the server's housekeeping). Each is claimed first by moving its check time
    (a conditional update), so one process checks it. Returns how many were checked."""
    due = now() - RECHECK_EVERY
    rows = await Workspace.select(Workspace.id, Workspace.domain_checked_at).where(
        Workspace.custom_domain.is_not_null(), Workspace.domain_status.is_in(["verified", "failed"]),
        (Workspace.domain_checked_at.is_null()) | (Workspace.domain_checked_at < due),
    ).limit(batch)
    checked = 0
    for row in rows:
        claim = Workspace.update({Workspace.domain_checked_at: now()}).where(Workspace.id == row["id"])
        claim = claim.where(Workspace.domain_checked_at.is_null() if row["domain_checked_at"] is None
                            else Workspace.domain_checked_at == row["domain_checked_at"])
        if not await claim.returning(Workspace.id):
            continue  # another process has it
        workspace = await _workspace(row["id"])
        try:
            result = await look_up(settings, workspace["custom_domain"])
        except Exception:  # never let one domain stop the others
            logging.getLogger("portal.domains").exception("re-checking %s failed", workspace["custom_domain"])
            continue
        await _keep(settings, workspace, result)
        if result.verified != (workspace["domain_status"] == "verified"):
            await record("domain_verified" if result.verified else "domain_not_verified", workspace_id=row["id"],
                         target_type="workspace", target_id=row["id"], domain=workspace["custom_domain"],
                         reason=result.reason, daily=True)
        checked += 1
    return checked


async def remove_domain(settings: Settings, workspace_id: int, *, actor: Principal | None = None) -> str | None:
    """Forget the domain: the portal stops answering there at once, its certificate goes."""
    workspace = await _workspace(workspace_id)
    if not workspace["custom_domain"]:
        return None
    await Workspace.update({
        Workspace.custom_domain: None, Workspace.domain_status: "none", Workspace.domain_error: "",
        Workspace.domain_checked_at: None, Workspace.domain_verified_at: None,
    }).where(Workspace.id == workspace_id)
    await _forget(settings, workspace["custom_domain"])
    await record("domain_removed", workspace_id=workspace_id, actor=actor, target_type="workspace",
                 target_id=workspace_id, domain=workspace["custom_domain"])
    return workspace["custom_domain"]


async def list_domains() -> list[dict]:
    return await Workspace.select(
        Workspace.slug, Workspace.custom_domain, Workspace.domain_status, Workspace.domain_checked_at,
        Workspace.domain_error,
    ).where(Workspace.custom_domain.is_not_null()).order_by(Workspace.slug)


async def workspace_id_of(slug: str) -> int:
    row = await Workspace.select(Workspace.id).where(Workspace.slug == slug).first()
    if row is None:
        raise NotFound(f"no workspace with slug {slug!r}")
    return row["id"]


def checked_ago(checked_at: dt.datetime | None) -> str:
    """When the domain was last looked up, for the settings page."""
    if checked_at is None:
        return "never"
    return checked_at.strftime("%-d %b %Y, %H:%M UTC")
