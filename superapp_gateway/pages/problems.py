"""The problems only the phone's pages answer: told to the citizen as pages
(``rendering.PageRoute``), never part of the API's description — except ``PhoneNotOffered``, the
404 problem of a regime without pages, where there is no page to tell it with."""

from __future__ import annotations

from kernel.problems import Problem


class PhoneNotOffered(Problem):
    """The rights regime has no super-app pages: the citizen's phone is their own app, on its own origin."""

    status, kind = 404, "phone-not-offered"

    def __init__(self) -> None:
        super().__init__(
            "This regime's super-app serves no phone pages: the citizen's own app talks to it "
            "(it only relays sealed requests), from its own origin."
        )


class FormTokenInvalid(Problem):
    """A state-changing form without the page's anti-forgery token (or with another session's)."""

    status, kind = 403, "form-token-invalid"

    def __init__(self) -> None:
        super().__init__("This form did not come from your own super-app page: open the page again and resend it.")


class AgreementNotTicked(Problem):
    status, kind = 422, "agreement-not-ticked"

    def __init__(self) -> None:
        super().__init__("Tick “I have read and agree” to use the city services.")
