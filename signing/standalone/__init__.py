"""Files the archive hands out with an export: scripts a third party runs with nothing of ours
installed (``verify_proof.py``: the ledger proof, standard library only)."""
