"""The ingest stage that puts a contract's scanned pages on the OCR queue.

It runs after the record is written, because the queue rows refer to the contract; when a later
stage fails, the record stage's undo deletes the contract and the queue rows go with it
(``ON DELETE CASCADE``), so this stage has nothing of its own to take back.
"""

from __future__ import annotations

from ingest.context import IngestContext, IngestWork


class QueueOcrStage:
    name = "queue_ocr"

    def applies_to(self, ctx: IngestContext, work: IngestWork) -> bool:
        return any(p.needs_ocr for p in work.pages)

    def run(self, ctx: IngestContext, work: IngestWork) -> None:
        assert work.record is not None
        ctx.records.queue_ocr(work.record.id, [p.page_no for p in work.pages if p.needs_ocr])

    def undo(self, ctx: IngestContext, work: IngestWork) -> None:
        return None
