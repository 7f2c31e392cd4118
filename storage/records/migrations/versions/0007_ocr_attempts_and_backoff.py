"""ocr attempts and backoff: ocr_jobs.retry_at/traceback, ocr_batches.attempts/retry_at/
last_error/traceback (a failing job waits, then fails for good: issue 14)

Revision ID: 0007_ocr_attempts
Revises: 0006_access
Create Date: 2026-12-05 08:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models


revision: str = '0007_ocr_attempts'
down_revision: str | None = '0006_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ocr_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', storage.records.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('traceback', sa.Text(), nullable=True))

    with op.batch_alter_table('ocr_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_at', storage.records.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('traceback', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ocr_batches', schema=None) as batch_op:
        batch_op.drop_column('traceback')
        batch_op.drop_column('last_error')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('ocr_jobs', schema=None) as batch_op:
        batch_op.drop_column('traceback')
        batch_op.drop_column('retry_at')
