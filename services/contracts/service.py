"""The customer and contract model as users work with it: the one service the API and the CLI
share (``archive.contracts``).

Every change goes through here so that it is validated once, recorded with who and why, and
followed by an update of what search uses (the index entry of the contract). The service is one
class made of one part per area, each in its own module:

- :mod:`services.contracts.base`: the shared state and what follows every change;
- :mod:`services.contracts.customers`: customers and contract lists;
- :mod:`services.contracts.terms`: one contract's terms, confirming, suggestions, clauses;
- :mod:`services.contracts.lifecycle`: transitions, filing, holds, disposal, payments;
- :mod:`services.contracts.scheme`: the classification scheme and the classifier.
"""

from __future__ import annotations

from services.contracts.base import LOO_LIMIT, MAX_LIST, ContractServiceBase, parse_window
from services.contracts.customers import CustomersMixin
from services.contracts.lifecycle import LifecycleMixin
from services.contracts.scheme import SchemeMixin
from services.contracts.terms import TermsMixin

__all__ = ["LOO_LIMIT", "MAX_LIST", "ContractService", "ContractServiceBase", "parse_window"]


class ContractService(CustomersMixin, TermsMixin, LifecycleMixin, SchemeMixin):
    """Customers, contract lists, terms, lifecycle, filing, holds, payments, the scheme and the
    classifier of one archive."""
