"""Need.place: which office of the kind answers (residence, event, equipped, filing)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("need") as batch_op:
        batch_op.add_column(
            sa.Column("place", sa.String(length=20), server_default="residence", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("need") as batch_op:
        batch_op.drop_column("place")
