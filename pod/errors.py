"""Every problem the pod answers with, as a class (``kernel.problems``).

Shared kinds come from ``kernel.problems``: ``NotFound``, and ``NoConsent``, ``InvalidArtefact`` and
``ArtefactExpired``, which the consent service answers too and departments react to.
"""

from __future__ import annotations

from kernel.problems import Problem
from kernel.tokens import ForbiddenCaller, Unauthenticated

# ---- paths and representations ----------------------------------------------------------------


class InvalidPath(Problem):
    """Not a pod path, or one no resource may have (``pod.paths``)."""

    status, kind = 400, "invalid-path"


class ContentTypeMissing(Problem):
    status, kind = 400, "content-type-missing"

    def __init__(self) -> None:
        super().__init__("A write needs a Content-Type.")


class UnsupportedMediaType(Problem):
    status, kind = 415, "unsupported-media-type"


class NotAcceptable(Problem):
    status, kind = 406, "not-acceptable"

    def __init__(self) -> None:
        super().__init__("This resource is RDF: ask for text/turtle or application/ld+json.")


class InvalidRdf(Problem):
    status, kind = 400, "invalid-rdf"

    def __init__(self, media: str) -> None:
        super().__init__(f"The body is not valid {media}.")


class RemoteContextRefused(Problem):
    """A JSON-LD document naming a context to be fetched (``pod.rdf``): the pod fetches nothing."""

    status, kind = 422, "remote-context-refused"

    def __init__(self) -> None:
        super().__init__(
            "JSON-LD contexts must be inline: the pod fetches no context named by an IRI "
            "(remote, file or relative), nor an @import."
        )


class InvalidAcl(Problem):
    status, kind = 400, "invalid-acl"

    def __init__(self) -> None:
        super().__init__("The access control document is not valid Turtle.")


# ---- the Solid protocol -----------------------------------------------------------------------


class Forbidden(Problem):
    """The resource's access control, or what a department may do at the pod, does not allow this."""

    status, kind = 403, "forbidden"


class PreconditionFailed(Problem):
    status, kind = 412, "precondition-failed"


class PathConflict(Problem):
    """``/x`` and ``/x/`` can never both exist."""

    status, kind = 409, "path-conflict"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class ContainerNotEmpty(Problem):
    status, kind = 409, "container-not-empty"

    def __init__(self) -> None:
        super().__init__("The container is not empty: delete its members first.")


class MethodNotAllowed(Problem):
    status, kind = 405, "method-not-allowed"

    def __init__(self, detail: str, allow: str) -> None:
        super().__init__(detail, headers={"Allow": allow})


class PodBusy(Problem):
    """Another write to the pod held its lock for longer than a writer waits (``pod.store.lock_pod``)."""

    status, kind = 503, "pod-busy"

    def __init__(self) -> None:
        super().__init__("The pod is busy with other writes; try again.", headers={"Retry-After": "1"})


class InvalidPatch(Problem):
    """The PATCH body is not valid N3 or SPARQL Update, or not one patch (``pod.patch``)."""

    status, kind = 400, "invalid-patch"


class PatchDoesNotApply(Problem):
    """The patch does not fit the resource's current state."""

    status, kind = 409, "patch-conflict"


class UnprocessablePatch(Problem):
    status, kind = 422, "unprocessable-patch"


class OverlyComplexPatch(Problem):
    status, kind = 422, "patch-too-complex"


# ---- the citizen's pod ------------------------------------------------------------------------


class NoPod(Problem):
    status, kind = 404, "no-pod"

    def __init__(self) -> None:
        super().__init__("You have no pod.")


# ---- departments: reads under consent and deposits --------------------------------------------


class PurposeMissing(Problem):
    status, kind = 400, "purpose-missing"


class ConsentUnavailable(Problem):
    """The consent service cannot be asked (or cannot log), so nothing is released or erased."""

    status, kind = 503, "consent-unavailable"


class SubjectMismatch(Problem):
    """The consent or basis a department relies on is about another citizen than the pod's owner."""

    status, kind = 403, "subject-mismatch"


class ArtefactRequired(Problem):
    status, kind = 400, "artefact-required"


class ResourceExists(Problem):
    status, kind = 409, "resource-exists"

    def __init__(self) -> None:
        super().__init__("A record is already here; a deposit never replaces what the citizen holds.")


class ArtefactRefused(Problem):
    """The consent service found what the department presented invalid (422); its kind is passed on
    (``invalid-artefact``, ``artefact-expired``, …), so the class declares none of its own."""

    status = 422

    def __init__(self, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.kind = kind


# ---- who calls --------------------------------------------------------------------------------
# ``unauthenticated`` and ``forbidden-caller`` are the kernel's kinds (kernel.tokens): the pod answers
# them with its own words and realm.


class LogInRequired(Unauthenticated):
    """Anonymous, where the resource's access control grants the public nothing that was asked."""

    def __init__(self) -> None:
        super().__init__("Log in with your app to use this resource.", realm="citygate-pod")


class NotAPodCaller(ForbiddenCaller):
    """A token that is neither a citizen's app's nor a department's holding a pod permission."""

    def __init__(self) -> None:
        super().__init__("Pods are used by citizens' own apps, and read by departments under consent.")
