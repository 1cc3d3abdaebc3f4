"""Privacy: an index for the purge's candidates (requests not anonymised yet, by the time of
their last change) and one on the resident's phone for the right of access and erasure.
The `anonymised_at` column itself exists since 0003.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_appointment_request_to_purge', 'appointment_request', ['status_changed_at'],
        unique=False,
        postgresql_where=sa.text('anonymised_at IS NULL'),
        sqlite_where=sa.text('anonymised_at IS NULL'),
    )
    op.create_index(
        op.f('ix_appointment_request_resident_phone'), 'appointment_request',
        ['resident_phone'], unique=False,
    )


def downgrade():
    op.drop_index(op.f('ix_appointment_request_resident_phone'), table_name='appointment_request')
    op.drop_index('ix_appointment_request_to_purge', table_name='appointment_request')
