"""Legal holds and locks on contracts (the object store's legal hold and retention of a
contract's evidence package)."""

from __future__ import annotations

from core.roles import Perm
from schemas.locks import ContractLocks
from services.facade.base import Area, action
from services.holds import contract_locks, set_legal_hold


class HoldsArea(Area):
    """Legal holds and locks on contracts."""

    @action("contract.locks", Perm.CONTRACTS_VIEW, logged="read", contract="contract_id")
    def locks(self, contract_id: int) -> ContractLocks:
        """The retention and legal hold of every object of the contract's package."""
        return contract_locks(self.archive, contract_id)

    @action("contract.legal_hold", Perm.CONTRACTS_EDIT, logged="change", contract="contract_id")
    def set(self, contract_id: int, hold: bool) -> ContractLocks:
        """Set (``hold``) or release the legal hold on every object of the package: nothing of
        it can be deleted until released; retention still applies after the release."""
        return set_legal_hold(self.archive, contract_id, hold, user=self.acting.actor)
