"""approval rules (versioned), customer risk flags, approval rounds and decisions, borrowing
requests and grants (issue 18)

Revision ID: 0011_workflows
Revises: 0009_ledger
Create Date: 2026-12-05 13:04:01.143766
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.records.models


revision: str = '0011_workflows'
down_revision: str | None = '0009_ledger'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_rule_sets',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_approval_rule_sets'))
    )
    op.create_table('approval_rounds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('rule_names', sa.JSON(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=False),
    sa.Column('step_started_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reminded_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_approval_rounds_contract_id_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_rounds'))
    )
    with op.batch_alter_table('approval_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_rounds_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_rounds_state'), ['state'], unique=False)

    op.create_table('borrow_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('borrower', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('download', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('starts_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned_at', storage.records.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_borrow_requests'))
    )
    with op.batch_alter_table('borrow_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_borrow_requests_borrower'), ['borrower'], unique=False)
        batch_op.create_index('ix_borrow_requests_borrower_contract', ['borrower', 'contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_borrow_requests_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_borrow_requests_state'), ['state'], unique=False)

    op.create_table('customer_risk_flags',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('flag', sa.String(length=50), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_risk_flags_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'flag', name=op.f('pk_customer_risk_flags'))
    )
    op.create_table('approval_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_no', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', storage.records.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['approval_rounds.id'], name=op.f('fk_approval_decisions_round_id_approval_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decisions'))
    )
    with op.batch_alter_table('approval_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_decisions_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('approval_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_decisions_round_id'))

    op.drop_table('approval_decisions')
    op.drop_table('customer_risk_flags')
    with op.batch_alter_table('borrow_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_borrow_requests_state'))
        batch_op.drop_index(batch_op.f('ix_borrow_requests_contract_id'))
        batch_op.drop_index('ix_borrow_requests_borrower_contract')
        batch_op.drop_index(batch_op.f('ix_borrow_requests_borrower'))

    op.drop_table('borrow_requests')
    with op.batch_alter_table('approval_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_rounds_state'))
        batch_op.drop_index(batch_op.f('ix_approval_rounds_contract_id'))

    op.drop_table('approval_rounds')
    op.drop_table('approval_rule_sets')
