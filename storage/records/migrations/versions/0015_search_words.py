"""search words: the index's vocabulary of Latin words, for "did you mean" (issue 15)

Revision ID: 0015_search_words
Revises: 0007_ocr_attempts
Create Date: 2026-12-05 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_search_words'
down_revision: str | None = '0011_workflows'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'search_words',
        sa.Column('word', sa.String(length=40), nullable=False),
        sa.Column('docs', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words')),
    )


def downgrade() -> None:
    op.drop_table('search_words')
