"""The ``terms`` ingest stage: after ``record``, before ``index``.

It reads the contract's own text (from ``extract``), stores what extraction suggests (each
value with page, character span and confidence), links the customer name given at upload to a
customer (creating it when new), records that the contract was created in its first lifecycle
state, and writes what search uses (confirmed first, then suggested) into the record, so that
the index stage indexes it.

Extraction is advisory: a bug in a rule must not lose a contract, so an unexpected error there
is logged with its traceback and becomes a warning on the record. Database errors while storing
fail the stage like any other, and the pipeline undoes everything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.rules import FALLBACK_CODE
from ingest.context import IngestContext, IngestWork
from storage.records.contract_base import ContractStore

if TYPE_CHECKING:
    from ingest.extraction import Extraction

# The extraction rules (a few hundred compiled patterns) and the linking code are imported when
# a contract is archived, not when the archive is opened: a search, a listing or a CLI command
# that archives nothing does not pay for them (about a tenth of a command's start-up).

log = logging.getLogger(__name__)

STAGE_NAME = "terms"


class TermsStage:
    name = STAGE_NAME

    def __init__(
        self,
        *,
        our_entities: Sequence[str] = (),
        extract: bool = True,
        min_classifier_examples: int = 20,
    ) -> None:
        self.our_entities = tuple(our_entities)
        self.extract = extract
        self.min_classifier_examples = min_classifier_examples

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return work.record is not None

    def _extract(self, store: ContractStore, work: IngestWork) -> Extraction | None:
        from ingest.extraction import ClassifierInput, CodeKeywords, extract_terms

        assert work.parsed is not None and work.record is not None
        scheme = store.current_scheme()
        codes = [CodeKeywords(c.code, c.keywords) for c in scheme.codes]
        model = store.latest_classifier()
        classifier = (
            ClassifierInput(model.id, model.model)
            if model is not None and model.examples >= self.min_classifier_examples
            else None
        )
        try:
            return extract_terms(
                [p.text for p in work.parsed.pages],
                title=work.record.title,
                our_entities=self.our_entities,
                codes=codes,
                fallback_code=FALLBACK_CODE if scheme.get(FALLBACK_CODE) else "",
                classifier=classifier,
            )
        except Exception:  # advisory: keep the contract, keep the cause in the log
            log.exception("term extraction failed for %s", work.request.filename)
            work.warnings.append("term extraction failed; no suggestions were made")
            return None

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        from ingest.linking import link_customer, refresh_effective, store_extraction

        store = ctx.records
        assert work.record is not None
        contract_id = work.record.id
        customer_text = (work.request.customer or "").strip()[:500] or None
        store.init_terms(
            contract_id,
            customer_text=customer_text,
            actor=ctx.user,
            status=work.record.status,
            reason=f"archived from {work.record.filename}",
        )
        if self.extract:
            extraction = self._extract(store, work)
            if extraction is None:
                store.add_event(
                    contract_id,
                    "extraction_failed",
                    actor="system:extraction",
                    reason="an error in term extraction; see the server log",
                )
            else:
                store_extraction(store, contract_id, extraction)
                work.warnings.extend(extraction.warnings)
        given = (work.request.classification or "").strip().upper()
        if given:
            # A classification chosen at upload is a person's word: confirmed, when it is a code
            # of the scheme; otherwise it stays a warning and the suggestion stands.
            scheme = store.current_scheme()
            if scheme.get(given) is not None:
                store.update_terms(
                    contract_id,
                    {"classification": given, "classification_version": scheme.version},
                    actor=ctx.user,
                    reason="given at upload",
                )
            else:
                work.warnings.append(
                    f"classification {given!r} given at upload is not a code of the "
                    f"classification scheme (version {scheme.version}); it was not applied"
                )
        master = work.request.master_id
        provenance = work.request.provenance or {}
        if master is not None and master != contract_id:
            store.update_terms(
                contract_id,
                {"master_id": master, "relation": work.request.relation or "annex"},
                actor=ctx.user,
                reason=(
                    f"split from the batch scan archived as contract {master}"
                    + (f", pages {pages}" if (pages := provenance.get("pages")) else "")
                    if work.request.relation == "scan_batch"
                    else f"attachment of the e-mail message archived as contract {master}"
                ),
            )
        if customer_text:
            linked = link_customer(store, contract_id, customer_text, actor=ctx.user)
            if linked.created:
                work.extras["created_customer"] = linked.customer_id
        refresh_effective(store, contract_id)
        work.record = ctx.records.get_contract(contract_id)

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        store = ctx.records
        created = work.extras.get("created_customer")
        if created is not None:
            store.delete_customer_if_unused(int(created))
