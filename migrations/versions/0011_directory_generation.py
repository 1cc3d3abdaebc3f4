"""Directory generation: one number moved by every directory or tree change, which the
orientation answers cached in each process are keyed by.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 04:00:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('directory_generation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_generation'))
    )
    # A random start: a database rebuilt from scratch never reuses an older one's numbers.
    op.bulk_insert(table, [{'id': 1, 'value': secrets.randbits(52)}])


def downgrade():
    op.drop_table('directory_generation')
