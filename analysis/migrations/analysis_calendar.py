"""analysis: release calendar per agreement (batch size B and steering-group dates)

Revision ID: analysis_calendar
Revises: analysis_release
"""
import sqlalchemy as sa
from alembic import op

revision = "analysis_calendar"
down_revision = "analysis_release"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_setting",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("batch_min", sa.Integer(), nullable=False, server_default="10"),
        sa.Column("steering_days", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreement.id"],
                                name=op.f("fk_release_setting_agreement_id_agreement"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agreement_id", name=op.f("pk_release_setting")),
    )


def downgrade() -> None:
    op.drop_table("release_setting")
