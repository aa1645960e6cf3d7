"""What the super-app may know and say about a citizen: the regime's choices, one class per regime.

``policy_for(regime)`` is called once, in ``create_app``, and the app's state keeps the result
(``GatewayState.policy``; routes take it as ``PolicyDep``); the rest of the gateway asks the policy
and never looks at the regime. To add a regime difference, add a method or field to
``GatewayPolicy`` and implement it in both classes (each says what it decides and why the regimes
differ). Its parts get what they use (a department client, a database session, a clock), never the app.
"""

from __future__ import annotations

from typing import Protocol

from kernel.regime import Regime
from superapp_gateway.departments import BlindCourier, DepartmentAccess, OnTheCitizensBehalf
from superapp_gateway.history import FullHistory, History, NoHistory
from superapp_gateway.id_cards import CardOnTheDevice, IdCardHolder, PlatformHostedCard
from superapp_gateway.internet_plus import ShareAsInternetPlusAsks, ShareNothing, Sharing
from superapp_gateway.pages.offer import NoPhonePages, PhonePages, SuperAppPhone
from superapp_gateway.user_agreement import ClickThroughAgreement, NoBlanketAgreement, SignUp


class GatewayPolicy(Protocol):
    @property
    def regime(self) -> Regime: ...

    # What the super-app asks the identity provider for at login, and what the page after login
    # tells the citizen the super-app now holds (superapp_gateway/login.py).
    @property
    def login_scope(self) -> str: ...

    @property
    def what_login_means(self) -> str: ...

    # How the gateway reaches a department for a citizen: on their behalf (reading everything) or
    # as a blind courier relaying the device's sealed requests (superapp_gateway/departments.py).
    @property
    def departments(self) -> DepartmentAccess: ...

    # What the operator keeps of each journey (superapp_gateway/history.py).
    @property
    def history(self) -> History: ...

    # Who holds the digital ID card (journey 4): the super-app, which then keeps the identity token
    # it gets at login, or the citizen's device (superapp_gateway/id_cards.py).
    @property
    def id_card(self) -> IdCardHolder: ...

    # What the super-app hands a department that asks about a citizen ("Internet Plus"): everything
    # it keeps, or nothing (superapp_gateway/internet_plus.py).
    @property
    def sharing(self) -> Sharing: ...

    # What the citizen must agree to before using the city services: one click-through agreement
    # that covers everything, or nothing blanket (superapp_gateway/user_agreement.py).
    @property
    def sign_up(self) -> SignUp: ...

    # Whether the super-app serves the citizen's phone as its own pages (/app/): the platform's
    # super-app is the phone; in the rights regime the phone is the citizen's own app
    # (superapp_gateway/pages/offer.py).
    @property
    def phone(self) -> PhonePages: ...

    def payer_for(self, subject: str, payment_id: str) -> str:
        """The ``payer`` named in the wallet's signed payment confirmation to a department, for the
        citizen the gateway knows as ``subject`` paying wallet payment ``payment_id``."""
        ...


class PlatformPolicy:
    """China's model: one universal identifier, the resident ID, known to the platform and every department."""

    regime = Regime.PLATFORM
    # "openid" is everything: the resident ID and the real-name record
    login_scope = "openid"
    what_login_means = (
        "The super-app now holds your resident ID and real-name record, the same identifier every department receives."
    )
    departments = OnTheCitizensBehalf()
    history = FullHistory()
    id_card = PlatformHostedCard()
    sharing = ShareAsInternetPlusAsks()
    sign_up = ClickThroughAgreement()
    phone = SuperAppPhone()

    def payer_for(self, subject: str, payment_id: str) -> str:
        # The session's subject is the resident ID, which is also how the departments know the
        # citizen, so they can check that the payer is the fine's owner / the patient.
        return subject


class RightsPolicy:
    """The rights-preserving variant: the platform knows only its own sector's pseudonym."""

    regime = Regime.RIGHTS
    # the name only, to greet the citizen
    login_scope = "openid profile"
    what_login_means = (
        "The super-app knows you by a pseudonym that only the platform sector uses, and by the "
        "claims you allowed. Departments get different pseudonyms."
    )
    departments = BlindCourier()
    history = NoHistory()
    id_card = CardOnTheDevice()
    sharing = ShareNothing()
    sign_up = NoBlanketAgreement()
    phone = NoPhonePages()

    def payer_for(self, subject: str, payment_id: str) -> str:
        # The gateway does not know (and must not learn) the departments' pseudonyms, and its own
        # would let them join records with the platform's: it names the payment instead. The
        # departments accept a payment by its reference in this regime (kernel/payers.py).
        return f"wallet:{payment_id}"


def policy_for(regime: Regime) -> GatewayPolicy:
    return PlatformPolicy() if regime is Regime.PLATFORM else RightsPolicy()
