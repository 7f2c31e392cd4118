"""Borrowing from the archive (借阅): a user not cleared for a restricted class asks to borrow one
contract of it (purpose, days, view or view and download); an approver of that class grants or
refuses it with a comment; the grant gives exactly that access to exactly that contract until it
expires or is returned early.

* **Who grants**: a user with ``contracts:edit`` who is cleared for the contract's class (in one
  of its restriction's groups), other than the borrower. For anyone else a request is as
  missing as its contract (404).
* **No oracle**: a request names an id its borrower cannot see, so a request for a hidden
  contract and one for an id that names no contract are answered alike (both recorded, pending).
  A contract the caller may already see is refused (422): there is nothing to lend.
* **Live grants** are bound to the caller once per request by
  :attr:`services.facade.base.Acting.caller`; a grant is live while granted, not returned, not
  expired (the archive's clock) and while its approver still may grant it.
* **Every read under a grant** is logged with its ``grant_id``
  (:meth:`services.access.service.AccessControl.entry`).
"""

from __future__ import annotations

from core.access_errors import Forbidden
from core.errors import InvalidRequest, NotFound, Unprocessable
from core.roles import Perm
from core.workflows import valid_comment, valid_days
from schemas.workflows import BorrowList, BorrowPublic
from services.facade.base import Area, action
from storage.records.base import MAX_ID, RecordStore
from storage.records.borrowing_base import BorrowRecord


class BorrowingArea(Area):
    """Requests, grants, refusals and returns of borrowings (借阅)."""

    @property
    def store(self) -> RecordStore:
        return self.archive.records

    def _restriction(self, contract_id: int) -> tuple[str | None, frozenset[str]] | None:
        """(class, groups of its restriction) of an existing contract, or None."""
        try:
            record = self.archive.get(contract_id)
        except NotFound:
            return None
        groups = self.acting.access.store.restrictions().get(
            record.classification or "", frozenset()
        )
        return record.classification, groups

    def _public(self, b: BorrowRecord, *, title: bool) -> BorrowPublic:
        now = self.acting.now()
        live = b.live(now) and self._in_force(b)
        name = None
        if title:
            try:
                name = self.archive.get(b.contract_id).title
            except NotFound:
                name = None
        return BorrowPublic.of(b, live=live, overdue=b.overdue(now), title=name)

    def _in_force(self, b: BorrowRecord) -> bool:
        """A live grant whose approver still may lend the contract (as the borrower sees it:
        :meth:`services.facade.base.Acting.may_grant` is the one rule)."""
        if not b.live(self.acting.now()):
            return False
        if b.borrower == self.acting.actor:
            return self.acting.caller.grant_for(b.contract_id) is not None
        return True

    def _may_lend(self, contract_id: int) -> bool:
        """Whether the caller may grant borrowings of the contract now."""
        found = self._restriction(contract_id)
        return (
            found is not None
            and bool(found[1])
            and self.acting.can(Perm.CONTRACTS_EDIT)
            and bool(found[1] & self.acting.signed_in.groups)
        )

    def _for_approver(self, request_id: int) -> BorrowRecord:
        """The request, if the caller is one who may decide it; else as missing."""
        found = self.store.get_borrow(request_id)
        restriction = self._restriction(found.contract_id)
        if (
            restriction is None
            or not self.acting.may_see_class(restriction[0])
            or found.borrower == self.acting.actor
        ):
            raise NotFound(f"borrowing request {request_id} does not exist")
        return found

    def _sees_contract(self, contract_id: int) -> bool:
        """Whether the caller sees the contract by their clearance (grants aside)."""
        found = self._restriction(contract_id)
        return found is not None and self.acting.may_see_class(found[0])

    # -- the borrower --------------------------------------------------------------------------
    @action("borrow.request", Perm.CONTRACTS_VIEW, logged="change")
    def request(
        self, contract_id: int, purpose: str, days: int, download: bool = False
    ) -> BorrowPublic:
        """Ask to borrow a contract of a restricted class (pending until an approver decides).
        The contract is not declared as the action's (``contract=``): it is one the caller may
        not see, by definition."""
        if not 0 < contract_id <= MAX_ID:
            raise InvalidRequest(f"{contract_id} is not a contract id")
        reason = valid_comment(purpose, required=True, what="purpose")
        assert reason is not None
        valid_days(days, self.archive.settings.borrow_max_days)
        if self._sees_contract(contract_id):
            raise Unprocessable(
                f"you may see contract {contract_id} already: borrowing (借阅) is for a "
                "contract of a restricted class you are not cleared for",
                hint="open it directly",
            )
        made = self.store.add_borrow_request(
            contract_id,
            borrower=self.acting.actor,
            purpose=reason,
            days=days,
            download=bool(download),
            at=self.acting.now(),
        )
        self.acting.note(request_id=made.id)
        return self._public(made, title=False)

    @action("borrow.return", Perm.CONTRACTS_VIEW, logged="change")
    def give_back(self, request_id: int) -> BorrowPublic:
        """Return a borrowing early (or withdraw a pending request): the borrower's own."""
        found = self.store.get_borrow(request_id)
        if found.borrower != self.acting.actor:
            raise NotFound(f"borrowing request {request_id} does not exist")
        done = self.store.return_borrow(request_id, at=self.acting.now())
        self.acting.note(contract_id=done.contract_id, state=done.state)
        return self._public(done, title=False)

    # -- the approver ----------------------------------------------------------------------------
    def _decide(self, request_id: int, grant: bool, comment: str | None) -> BorrowPublic:
        found = self._for_approver(request_id)
        restriction = self._restriction(found.contract_id)
        assert restriction is not None
        if not restriction[1]:
            raise Unprocessable(
                f"contract {found.contract_id} is not of a restricted class (any more): there "
                "is nothing to lend",
                hint="refuse the request with a comment",
            )
        if grant and not self._may_lend(found.contract_id):
            raise Forbidden(
                f"{self.acting.actor} may not grant borrowings of contract {found.contract_id}",
                hint="it takes contracts:edit and a clearance for the contract's class",
            )
        decided = self.store.decide_borrow(
            request_id,
            grant=grant,
            actor=self.acting.actor,
            comment=comment,
            at=self.acting.now(),
        )
        self.acting.note(
            contract_id=decided.contract_id,
            borrower=decided.borrower,
            expires_at=decided.expires_at.isoformat() if decided.expires_at else None,
        )
        return self._public(decided, title=True)

    @action("borrow.grant", Perm.CONTRACTS_EDIT, logged="change")
    def grant(self, request_id: int, comment: str | None = None) -> BorrowPublic:
        """Grant a pending request: from now for its days."""
        return self._decide(request_id, True, valid_comment(comment, required=False))

    @action("borrow.refuse", Perm.CONTRACTS_EDIT, logged="change")
    def refuse(self, request_id: int, comment: str) -> BorrowPublic:
        """Refuse a pending request (a comment is required)."""
        return self._decide(request_id, False, valid_comment(comment, required=True))

    # -- reads -----------------------------------------------------------------------------------
    @action("borrow.list", Perm.CONTRACTS_VIEW, logged="read")
    def list_requests(self, mine: bool = False, open_only: bool = False) -> BorrowList:
        """``mine``: the caller's own requests and grants (the title only while a grant is
        live). Else also the requests and grants of contracts the caller is cleared for (an
        approver's queue; an auditor's view of open and past grants and overdue returns)."""
        now = self.acting.now()
        rows = self.store.list_borrows(borrower=self.acting.actor if mine else None)
        items: list[BorrowPublic] = []
        for b in rows:
            own = b.borrower == self.acting.actor
            cleared = self._sees_contract(b.contract_id)
            if not (own or cleared):
                continue
            if open_only and not (b.state == "requested" or b.live(now) or b.overdue(now)):
                continue
            live = b.live(now)
            items.append(self._public(b, title=cleared or (own and live)))
        self.acting.note(returned=[i.id for i in items])
        return BorrowList(items=items)
