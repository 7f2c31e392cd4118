"""background jobs: reminders, fixity audits and reindexing as durable jobs (issue 14)

Revision ID: 0018_background_jobs
Revises: 0017_saved_views
Create Date: 2026-12-06 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models

revision: str = '0018_background_jobs'
down_revision: str | None = '0017_saved_views'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = storage.records.models.UTCDateTime(timezone=True)
    op.create_table(
        'background_jobs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('slot', sa.String(length=80), nullable=True),
        sa.Column('owner', sa.String(length=200), nullable=True),
        sa.Column('lease_until', when, nullable=True),
        sa.Column('heartbeat_at', when, nullable=True),
        sa.Column('retry_at', when, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('traceback', sa.Text(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('queued_by', sa.String(length=200), nullable=False),
        sa.Column('queued_at', when, nullable=False),
        sa.Column('started_at', when, nullable=True),
        sa.Column('finished_at', when, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_background_jobs')),
        sa.UniqueConstraint('slot', name=op.f('uq_background_jobs_slot')),
    )
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_background_jobs_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_background_jobs_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_background_jobs_state'))
        batch_op.drop_index(batch_op.f('ix_background_jobs_kind'))
    op.drop_table('background_jobs')
