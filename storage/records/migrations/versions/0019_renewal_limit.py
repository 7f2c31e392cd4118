"""the number of renewals as a confirmed term (issue 17): the limit and the count so far

Revision ID: 0019_renewal_limit
Revises: 0018_background_jobs
Create Date: 2026-12-07 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_renewal_limit'
down_revision: str | None = '0018_background_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # null in both: no limit stated, no renewal counted (every existing contract as before)
    with op.batch_alter_table('contract_terms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewal_max_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('renewal_count', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contract_terms', schema=None) as batch_op:
        batch_op.drop_column('renewal_count')
        batch_op.drop_column('renewal_max_count')
