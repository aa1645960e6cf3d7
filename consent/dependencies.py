"""The consent service's typed state and the dependencies its routes take (``kernel.state``).

There is no ``PolicyDep``: the consent service exists only in the rights regime, so it has no regime
difference to decide and no policy object (see the package's docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from consent.artefacts import ConsentBook
from consent.ledger import Ledger
from consent.settings import Settings
from consent.subjects import SubjectLinks
from consent.tree_heads import TreeHeadSigner
from kernel.state import ServiceState, state_of


@dataclass(kw_only=True, eq=False)
class ConsentState(ServiceState[Settings]):
    """What the consent service's routes use: its artefacts and ledger (``consent_book``), the signer of
    its tree heads, and the links from sector pseudonyms to its own (``subject_links``)."""

    consent_book: ConsentBook = field(init=False)
    tree_heads: TreeHeadSigner = field(init=False)
    subject_links: SubjectLinks = field(init=False)

    def __post_init__(self) -> None:
        assert self.settings.public_url is not None  # the settings fill it in
        # the book reads the service's clock on every use, so moving ``clock`` moves the book (expiry)
        self.consent_book = ConsentBook(
            ledger=Ledger(self.database), signing_key=self.signing_key, issuer=self.settings.public_url, clock=self.now
        )
        self.tree_heads = TreeHeadSigner(self.signing_key, self.settings.public_url)
        self.subject_links = SubjectLinks(self.database)

    def now(self) -> datetime:
        return self.clock()


async def consent_state(request: Request) -> ConsentState:
    return state_of(request.app, ConsentState)


StateDep = Annotated[ConsentState, Depends(consent_state)]


async def consent_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(consent_settings)]


async def consent_book(state: StateDep) -> ConsentBook:
    return state.consent_book


BookDep = Annotated[ConsentBook, Depends(consent_book)]


async def consent_ledger(state: StateDep) -> Ledger:
    return state.consent_book.ledger


LedgerDep = Annotated[Ledger, Depends(consent_ledger)]


async def tree_head_signer(state: StateDep) -> TreeHeadSigner:
    return state.tree_heads


TreeHeadsDep = Annotated[TreeHeadSigner, Depends(tree_head_signer)]


async def subject_links(state: StateDep) -> SubjectLinks:
    return state.subject_links


SubjectLinksDep = Annotated[SubjectLinks, Depends(subject_links)]
