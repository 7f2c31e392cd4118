"""The classification scheme and the classifier."""

from __future__ import annotations

from collections.abc import Sequence

from core.roles import Perm
from schemas.contract_model import ClassifierPublic, SchemePublic
from services.facade.base import Area, action


class SchemeArea(Area):
    """The classification scheme and the classifier."""

    @action("classification.scheme", Perm.CONTRACTS_VIEW, logged="no")
    def show(self, version: int | None = None) -> SchemePublic:
        """The scheme (current, or a version): codes, names, default retention. It is the
        archive's configuration, not archive data."""
        return self.archive.contracts.scheme(version)

    @action("classification.versions", Perm.CONTRACTS_VIEW, logged="no")
    def versions(self) -> list[SchemePublic]:
        return self.archive.contracts.scheme_versions()

    @action("classification.code.set", Perm.SETTINGS_MANAGE, logged="change")
    def set_code(
        self,
        code: str,
        name_zh: str,
        name_en: str,
        retention: str,
        keywords: Sequence[str] = (),
        note: str | None = None,
    ) -> SchemePublic:
        """Add or change a code: a new version of the scheme."""
        return self.archive.contracts.set_code(
            code,
            name_zh=name_zh,
            name_en=name_en,
            retention=retention,
            keywords=keywords,
            actor=self.acting.actor,
            note=note,
        )

    @action("classification.code.retire", Perm.SETTINGS_MANAGE, logged="change")
    def retire_code(self, code: str, note: str | None = None) -> SchemePublic:
        """Retire a code: a new version of the scheme."""
        return self.archive.contracts.retire_code(code, actor=self.acting.actor, note=note)

    @action("classification.train", Perm.SETTINGS_MANAGE, logged="change", unit=False)
    def train(self) -> ClassifierPublic:
        """Train the classifier on the contracts whose classification is confirmed."""
        trained = self.archive.contracts.train_classifier(actor=self.acting.actor)
        self.acting.note(classifier_id=trained.id, examples=trained.examples)
        return trained
