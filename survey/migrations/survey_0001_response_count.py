"""survey: answers counted per version, month and background cell (read by the statistics)

Revision ID: survey_0001
Revises: survey_0000
"""
import sqlalchemy as sa
from alembic import op

revision = "survey_0001"
down_revision = "survey_0000"
branch_labels = None
depends_on = None

BACKGROUND = ("gender", "age_band", "newly_arrived", "disability")


def upgrade() -> None:
    op.create_table(
        "response_count",
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.String(length=16), nullable=False) for c in BACKGROUND),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ("n", "closer_k", "closer_n", "useful_k", "useful_n")),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_response_count_survey_id_survey"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_version.id"],
                                name=op.f("fk_response_count_version_id_survey_version"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_response_count_unit_id_unit"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("survey_id", "version_id", "month", *BACKGROUND, name=op.f("pk_response_count")),
    )
    op.create_index(op.f("ix_response_count_unit_id"), "response_count", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_response_count_unit_id"), table_name="response_count")
    op.drop_table("response_count")
