"""Commune postcodes: room for every postcode of the largest commune (Paris has 21, 125
characters with their spaces; the column held 120, so 75020 was cut off).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('commune', schema=None) as batch_op:
        batch_op.alter_column('postcodes',
               existing_type=sa.String(length=120),
               type_=sa.String(length=255),
               existing_nullable=False)


def downgrade():
    # Longer lists lose their last whole postcodes, as before this migration.
    commune = sa.table('commune', sa.column('insee', sa.String), sa.column('postcodes', sa.String))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(commune.c.insee, commune.c.postcodes)
        .where(sa.func.length(commune.c.postcodes) > 120)
    ).all()
    for insee, postcodes in rows:
        cut = postcodes[: postcodes.rfind(' ', 0, 121)]
        bind.execute(commune.update().where(commune.c.insee == insee).values(postcodes=cut))
    with op.batch_alter_table('commune', schema=None) as batch_op:
        batch_op.alter_column('postcodes',
               existing_type=sa.String(length=255),
               type_=sa.String(length=120),
               existing_nullable=False)
