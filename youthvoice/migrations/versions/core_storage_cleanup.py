"""storage cleanups (WAL checkpoint, VACUUM FULL) that could not run yet, retried until they have run

Revision ID: core_storage_cleanup
Revises: core_unit_names
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_storage_cleanup'
down_revision = 'core_unit_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'storage_cleanup',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('tables', sa.String(length=500), nullable=False),
        sa.Column('since', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_cleanup')),
    )


def downgrade() -> None:
    op.drop_table('storage_cleanup')
