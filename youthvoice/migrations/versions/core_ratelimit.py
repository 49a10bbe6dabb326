"""rate limits shared by every worker: counts per keyed hash, one row per window

Revision ID: core_ratelimit
Revises: core_0001
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_ratelimit'
down_revision = 'core_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_count',
    sa.Column('bucket', sa.String(length=24), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('expires', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'key', 'window', name=op.f('pk_rate_count'))
    )
    op.create_index(op.f('ix_rate_count_expires'), 'rate_count', ['expires'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_count_expires'), table_name='rate_count')
    op.drop_table('rate_count')
