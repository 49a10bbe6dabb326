"""survey tables: surveys, versions, one-time codes, answers, form nonces, purged aggregates

Revision ID: survey_0000
Revises: core_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "survey_0000"
down_revision = "core_0001"
branch_labels = ("survey",)
depends_on = None


def upgrade() -> None:
    op.create_table('submission_nonce',
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('nonce_hash', name=op.f('pk_submission_nonce')),
    sqlite_with_rowid=False
    )
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('opens', sa.Date(), nullable=False),
    sa.Column('closes', sa.Date(), nullable=False),
    sa.Column('access', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('shared_device', sa.Boolean(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_survey_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey')),
    sa.UniqueConstraint('slug', name=op.f('uq_survey_slug'))
    )
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_unit_id'), ['unit_id'], unique=False)
    op.create_table('survey_code',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('spent', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_code_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_id', 'code', name=op.f('pk_survey_code')),
    sqlite_with_rowid=False
    )
    op.create_table('survey_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_version_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_version')),
    sa.UniqueConstraint('survey_id', 'number', name=op.f('uq_survey_version_survey_id'))
    )
    with op.batch_alter_table('survey_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_version_survey_id'), ['survey_id'], unique=False)
    op.create_table('response',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('newly_arrived', sa.String(length=16), nullable=True),
    sa.Column('disability', sa.String(length=16), nullable=True),
    sa.Column('closer', sa.SmallInteger(), nullable=True),
    sa.Column('useful', sa.SmallInteger(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_response_survey_id_survey'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_response_unit_id_unit'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['version_id'], ['survey_version.id'], name=op.f('fk_response_version_id_survey_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_stats', ['unit_id', 'month', 'version_id'], unique=False)
        batch_op.create_index('ix_response_survey', ['survey_id', 'version_id'], unique=False)
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
    for table in ("response_aggregate", "response", "survey_version", "survey_code", "submission_nonce", "survey"):
        op.drop_table(table)
