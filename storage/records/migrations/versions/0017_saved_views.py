"""saved views of the contract table, per user (issue 15); fixity findings by contract

Revision ID: 0017_saved_views
Revises: 0016_integrity_alerts
Create Date: 2026-12-06 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models

revision: str = '0017_saved_views'
down_revision: str | None = '0016_integrity_alerts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'saved_views',
        sa.Column(
            'id',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column(
            'created_at', storage.records.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
        sa.UniqueConstraint('username', 'name', name=op.f('uq_saved_views_username')),
    )
    op.create_index(op.f('ix_saved_views_username'), 'saved_views', ['username'], unique=False)
    # the contract table's verification column looks up each contract's latest fixity finding
    op.create_index(
        op.f('ix_fixity_findings_contract_id'), 'fixity_findings', ['contract_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_fixity_findings_contract_id'), table_name='fixity_findings')
    op.drop_index(op.f('ix_saved_views_username'), table_name='saved_views')
    op.drop_table('saved_views')
