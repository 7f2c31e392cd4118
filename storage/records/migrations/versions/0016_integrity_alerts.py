"""integrity alerts: contracts whose stored file was found damaged when served (issue 13)

Revision ID: 0016_integrity_alerts
Revises: 0015_search_words
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models

revision: str = '0016_integrity_alerts'
down_revision: str | None = '0015_search_words'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'integrity_alerts',
        sa.Column(
            'contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        ),
        sa.Column('file', sa.String(length=100), nullable=False),
        sa.Column('expected_sha256', sa.String(length=64), nullable=True),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column(
            'detected_at', storage.records.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column('detected_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ['contract_id'],
            ['contracts.id'],
            name=op.f('fk_integrity_alerts_contract_id_contracts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_integrity_alerts')),
    )


def downgrade() -> None:
    op.drop_table('integrity_alerts')
