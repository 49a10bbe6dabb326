"""monthly aggregated counts of purged survey answers

Revision ID: core_0002
Revises: core_0001
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0002'
down_revision = 'core_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('response_aggregate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('newly_arrived', sa.String(length=16), nullable=True),
    sa.Column('disability', sa.String(length=16), nullable=True),
    sa.Column('closer', sa.SmallInteger(), nullable=True),
    sa.Column('useful', sa.SmallInteger(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_response_aggregate_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_response_aggregate_survey_id_survey'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['survey_version.id'], name=op.f('fk_response_aggregate_version_id_survey_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_aggregate'))
    )
    op.create_index(op.f('ix_response_aggregate_unit_id'), 'response_aggregate', ['unit_id'], unique=False)
    op.create_index(op.f('ix_response_aggregate_survey_id'), 'response_aggregate', ['survey_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_response_aggregate_survey_id'), table_name='response_aggregate')
    op.drop_index(op.f('ix_response_aggregate_unit_id'), table_name='response_aggregate')
    op.drop_table('response_aggregate')
