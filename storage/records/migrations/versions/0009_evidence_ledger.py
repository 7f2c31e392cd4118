"""evidence ledger: ledger_leaves (the Merkle tree's leaves, one per manifest version) and
ledger_checkpoints (signed tlog checkpoints with their RFC 3161 tokens): issue 13

Revision ID: 0009_ledger
Revises: 0007_ocr_attempts
Create Date: 2026-12-05 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models


revision: str = '0009_ledger'
down_revision: str | None = '0007_ocr_attempts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_leaves',
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('contract_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('appended_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idx', name=op.f('pk_ledger_leaves')),
    sa.UniqueConstraint('contract_id', 'version', 'manifest_sha256', name='uq_ledger_leaf')
    )
    with op.batch_alter_table('ledger_leaves', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_leaves_contract', ['contract_id', 'version'], unique=False)

    op.create_table('ledger_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('issued_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('timestamp_token', sa.LargeBinary(), nullable=True),
    sa.Column('timestamp_time', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('timestamp_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints'))
    )
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_checkpoints_tree_size'), ['tree_size'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checkpoints_tree_size'))
    op.drop_table('ledger_checkpoints')
    with op.batch_alter_table('ledger_leaves', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_leaves_contract')
    op.drop_table('ledger_leaves')
