"""The classification scheme (versioned codes) and the trained classifier."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.errors import Conflict, InvalidRequest, NotFound
from core.rules import (
    FALLBACK_CODE,
    RETENTIONS,
    valid_scheme_code,
)
from ingest.extraction.classify import features, leave_one_out, train
from schemas.contract_model import (
    ClassifierPublic,
    SchemePublic,
)
from storage.records.contract_base import (
    SchemeCode,
)

if TYPE_CHECKING:
    pass

from services.contracts.base import LOO_LIMIT, ContractServiceBase

log = logging.getLogger(__name__)


class SchemeMixin(ContractServiceBase):
    # -- classification scheme ---------------------------------------------------------------------
    def scheme(self, version: int | None = None) -> SchemePublic:
        record = self.store.get_scheme(version) if version else self.store.current_scheme()
        return SchemePublic.from_record(record)

    def scheme_versions(self) -> list[SchemePublic]:
        return [SchemePublic.from_record(s) for s in self.store.scheme_versions()]

    def set_code(
        self,
        code: str,
        *,
        name_zh: str,
        name_en: str,
        retention: str,
        keywords: Sequence[str],
        actor: str,
        note: str | None = None,
    ) -> SchemePublic:
        code = valid_scheme_code(code)
        if retention not in RETENTIONS:
            raise InvalidRequest(f"retention must be one of {', '.join(RETENTIONS)}")
        current = self.store.current_scheme()
        new = SchemeCode(
            code=code,
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            retention=retention,
            keywords=tuple(k.strip() for k in keywords if k.strip()),
        )
        old = current.get(code)
        if old == new:
            return SchemePublic.from_record(current)
        codes = [c for c in current.codes if c.code != code] + [new]
        what = f"{'changed' if old else 'added'} {code}"
        saved = self.store.new_scheme_version(
            sorted(codes, key=lambda c: c.code),
            actor=actor,
            note=f"{what}: {note}" if note else what,
            based_on=current.version,
        )
        return SchemePublic.from_record(saved)

    def retire_code(self, code: str, *, actor: str, note: str | None = None) -> SchemePublic:
        code = valid_scheme_code(code)
        current = self.store.current_scheme()
        if current.get(code) is None:
            raise NotFound(f"{code} is not a code of the current scheme")
        if code == FALLBACK_CODE:
            raise Conflict(f"{code} is the fallback code of the scheme and cannot be retired")
        codes = [c for c in current.codes if c.code != code]
        saved = self.store.new_scheme_version(
            codes,
            actor=actor,
            note=f"retired {code}: {note}" if note else f"retired {code}",
            based_on=current.version,
        )
        return SchemePublic.from_record(saved)

    # -- the classifier ----------------------------------------------------------------------------
    def train_classifier(self, *, actor: str) -> ClassifierPublic:
        labelled = self.store.confirmed_classifications()
        examples = []
        for contract_id, code in labelled:
            try:
                record = self.archive.get(contract_id)
                pages = self.archive.page_texts(record)
            except NotFound:
                continue
            examples.append((features(record.title, pages), code))
        if len(examples) < 2 or len({c for _, c in examples}) < 2:
            raise Conflict(
                f"{len(examples)} contracts have a confirmed classification; training needs "
                "contracts of at least two codes",
                hint="confirm the classification of more contracts first",
            )
        model = train(examples)
        accuracy = leave_one_out(examples) if len(examples) <= LOO_LIMIT else None
        scheme = self.store.current_scheme()
        saved = self.store.save_classifier(
            actor=actor,
            scheme_version=scheme.version,
            examples=len(examples),
            labels=model["labels"],
            model=model,
            accuracy=accuracy,
        )
        return self.classifier_public(saved)

    def classifier_public(self, saved: Any) -> ClassifierPublic:
        return ClassifierPublic(
            id=saved.id,
            created_at=saved.created_at,
            created_by=saved.created_by,
            scheme_version=saved.scheme_version,
            examples=saved.examples,
            labels=list(saved.labels),
            accuracy=saved.accuracy,
            in_use=saved.examples >= self.settings.classifier_min_examples,
        )

    def classifier(self) -> ClassifierPublic | None:
        saved = self.store.latest_classifier()
        return self.classifier_public(saved) if saved else None
