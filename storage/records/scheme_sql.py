"""The SQL half of :class:`~storage.records.scheme_base.SchemeStore`.

A new scheme version must be based on the current one: the version number is the primary key, so
of two concurrent changes one commits and the other gets a Conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from storage.records.contract_models import (
    ClassificationCode,
    ClassificationScheme,
    ClassifierModel,
    ContractTerms,
)
from storage.records.models import utcnow
from storage.records.scheme_base import ClassifierRecord, SchemeCode, SchemeRecord
from storage.records.sql_common import SqlPart


def _classifier(row: ClassifierModel) -> ClassifierRecord:
    return ClassifierRecord(
        id=row.id,
        created_at=row.created_at,
        created_by=row.created_by,
        scheme_version=row.scheme_version,
        examples=row.examples,
        labels=tuple(row.labels),
        model=dict(row.model),
        accuracy=row.accuracy,
    )


class SqlScheme(SqlPart):
    """The classification scheme and the classifier (a part of ``SqlRecordStore``)."""

    # -- classification scheme -------------------------------------------------------------
    @staticmethod
    def _scheme(s: Session, row: ClassificationScheme) -> SchemeRecord:
        codes = s.scalars(
            select(ClassificationCode)
            .where(ClassificationCode.scheme_version == row.version)
            .order_by(ClassificationCode.code)
        )
        return SchemeRecord(
            version=row.version,
            created_at=row.created_at,
            created_by=row.created_by,
            note=row.note,
            codes=tuple(
                SchemeCode(
                    code=c.code,
                    name_zh=c.name_zh,
                    name_en=c.name_en,
                    retention=c.retention,
                    keywords=tuple(c.keywords or ()),
                )
                for c in codes
            ),
        )

    def current_scheme(self) -> SchemeRecord:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ClassificationScheme).order_by(ClassificationScheme.version.desc()).limit(1)
            ).first()
            if row is None:
                raise NotFound("no classification scheme exists", hint="run migrate-db")
            return self._scheme(s, row)

    def get_scheme(self, version: int) -> SchemeRecord:
        with self._session(write=False) as s:
            row = s.get(ClassificationScheme, version)
            if row is None:
                raise NotFound(f"classification scheme version {version} does not exist")
            return self._scheme(s, row)

    def scheme_versions(self) -> list[SchemeRecord]:
        with self._session(write=False) as s:
            rows = s.scalars(select(ClassificationScheme).order_by(ClassificationScheme.version))
            return [self._scheme(s, r) for r in rows]

    def new_scheme_version(
        self, codes: Sequence[SchemeCode], *, actor: str, note: str | None, based_on: int
    ) -> SchemeRecord:
        try:
            with self._session(write=True) as s:
                current = s.scalar(select(func.max(ClassificationScheme.version)))
                if current != based_on:
                    raise Conflict(
                        f"the classification scheme changed meanwhile (now version {current})",
                        hint="reload the scheme and apply the change again",
                    )
                row = ClassificationScheme(
                    version=based_on + 1, created_at=utcnow(), created_by=actor, note=note
                )
                s.add(row)
                s.flush()
                for c in codes:
                    s.add(
                        ClassificationCode(
                            scheme_version=row.version,
                            code=c.code,
                            name_zh=c.name_zh,
                            name_en=c.name_en,
                            retention=c.retention,
                            keywords=list(c.keywords),
                        )
                    )
                s.flush()
                return self._scheme(s, row)
        except IntegrityError as exc:
            raise Conflict(
                "the classification scheme changed meanwhile",
                hint="reload the scheme and apply the change again",
            ) from exc

    # -- classifier ------------------------------------------------------------------------
    def save_classifier(
        self,
        *,
        actor: str,
        scheme_version: int,
        examples: int,
        labels: Sequence[str],
        model: Mapping[str, Any],
        accuracy: float | None,
    ) -> ClassifierRecord:
        with self._session(write=True) as s:
            row = ClassifierModel(
                created_at=utcnow(),
                created_by=actor,
                scheme_version=scheme_version,
                examples=examples,
                labels=list(labels),
                model=dict(model),
                accuracy=accuracy,
            )
            s.add(row)
            s.flush()
            return _classifier(row)

    def latest_classifier(self) -> ClassifierRecord | None:
        with self._session(write=False) as s:
            row = s.scalars(
                select(ClassifierModel).order_by(ClassifierModel.id.desc()).limit(1)
            ).first()
            return _classifier(row) if row else None

    def confirmed_classifications(self) -> list[tuple[int, str]]:
        with self._session(write=False) as s:
            rows = s.execute(
                select(ContractTerms.contract_id, ContractTerms.classification)
                .where(ContractTerms.classification.is_not(None))
                .order_by(ContractTerms.contract_id)
            ).all()
            return [(int(cid), str(code)) for cid, code in rows]
