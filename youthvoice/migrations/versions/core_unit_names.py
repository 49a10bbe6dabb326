"""unit names in other languages than Swedish, for the youth pages

Revision ID: core_unit_names
Revises: core_ratelimit
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_unit_names'
down_revision = 'core_ratelimit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        batch.add_column(sa.Column('names', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        batch.drop_column('names')
