"""Who may call what: the one readable place for service-to-service permissions.

A permission is an OAuth scope ``<callee>:<action>``. The identity service only issues a
scope to a caller listed here, and the callee checks the same table again on every call, so
neither side alone can widen access. Access tokens are audience-bound to the callee
(``urn:citygate:<callee>``), so a token for one service is useless at another.
"""

from __future__ import annotations

# A table, aligned so the callers of each permission read down one column.
# fmt: off
ACCESS_POLICY: dict[str, frozenset[str]] = {
    # permission                 callers allowed
    "fines:read":                frozenset({"gateway"}),
    "fines:pay":                 frozenset({"gateway"}),
    "appointments:read":         frozenset({"gateway"}),
    "appointments:book":         frozenset({"gateway"}),
    "prescriptions:read":        frozenset({"gateway"}),
    "prescriptions:issue":       frozenset({"gateway"}),  # an online consultation booked in the super-app
    "prescriptions:pay":         frozenset({"gateway"}),
    "prescriptions:dispense":    frozenset({"gateway"}),  # the super-app orders from the pharmacy
    "prescriptions:deliver":     frozenset({"gateway"}),
    # the super-app relays citizens' sealed requests it cannot read (kernel/courier.py, "blind courier")
    "fines:courier":             frozenset({"gateway"}),
    "appointments:courier":      frozenset({"gateway"}),
    "prescriptions:courier":     frozenset({"gateway"}),
    # a department learns its own sector's subject for a citizen it has identified in person
    "identity:sector-subject":   frozenset({"fines", "appointments", "prescriptions"}),
    # the consent ledger shows a citizen every artefact and access about them, whatever the sector's
    # pseudonym: it alone may learn which of its own subjects another sector's pseudonym denotes
    "identity:subject-link":     frozenset({"consent"}),
    # demo deployments only: the consent ledger and the pod learn their own subjects for the demo
    # personas (fictional, published in the handout) to give them their seeded state back (citygate reset)
    "identity:demo-subjects":    frozenset({"consent", "pod"}),
    # consent (rights regime): data consumers ask the citizen; departments record their other legal
    # bases; data holders ask before releasing (each "yes" is logged before the data leaves)
    "consent:request":           frozenset({"gateway", "fines", "appointments", "prescriptions"}),
    "consent:record":            frozenset({"fines", "appointments", "prescriptions"}),
    "consent:decide":            frozenset({"pod", "prescriptions"}),  # the pharmacy before the courier gets an address
    "consent:erasure":           frozenset({"pod"}),  # the ledger keeps that an erasure happened
    "consent:courier":           frozenset({"gateway"}),  # relays the citizen's sealed "my data" requests
    # a department reads from a citizen's pod only what a consent the pod checks allows
    "pod:read":                  frozenset({"fines", "appointments", "prescriptions"}),
    # a department deposits the records it issues (prescriptions) into the citizen's pod, under a
    # legal basis the consent service holds; it can create there, never read, replace or delete
    "pod:deposit":               frozenset({"prescriptions"}),
    # "Internet Plus" (platform regime only): departments ask the super-app what it knows of a citizen
    "gateway:internet-plus":     frozenset({"fines", "appointments", "prescriptions"}),
    # the national credit-sharing platform (platform regime only)
    "credit:report":             frozenset({"fines"}),
    "credit:query":              frozenset({"appointments"}),
}
# fmt: on

# Statements a service accepts only when signed by these services' published keys (e.g. the
# wallet's payment confirmations): the service fetches their JWKS, so it needs their address.
TRUSTED_SIGNERS: dict[str, frozenset[str]] = {
    "fines": frozenset({"gateway"}),
    "prescriptions": frozenset({"gateway"}),
}

AUDIENCE_PREFIX = "urn:citygate:"


def audience_of(service: str) -> str:
    return f"{AUDIENCE_PREFIX}{service}"


def callee_of(permission: str) -> str:
    return permission.split(":", 1)[0]


def is_allowed(caller: str, permission: str) -> bool:
    return caller in ACCESS_POLICY.get(permission, frozenset())


def permissions_for(caller: str, callee: str) -> list[str]:
    """Every permission ``caller`` holds on ``callee``, the scope it asks the identity service for."""
    return sorted(
        permission
        for permission, callers in ACCESS_POLICY.items()
        if caller in callers and callee_of(permission) == callee
    )


def callees_of(caller: str) -> list[str]:
    return sorted({callee_of(p) for p, callers in ACCESS_POLICY.items() if caller in callers})


def peers_of(service: str) -> list[str]:
    """Every service this one must be able to reach: those it calls and those whose signatures it checks
    (the identity service is reached through the settings' ``identity_url``, not as a peer)."""
    return sorted((set(callees_of(service)) | TRUSTED_SIGNERS.get(service, frozenset())) - {"identity"})
