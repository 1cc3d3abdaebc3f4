"""Resident screen: the desk sessions that screens follow (current screen, version, the
pairing code's hash) and the screens paired with them (the screen token's hash).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('screen_desk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=1000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_screen_desk_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_desk')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_screen_desk_code_hash'))
    )
    with op.batch_alter_table('screen_desk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screen_desk_user_id'), ['user_id'], unique=False)

    op.create_table('screen_pairing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['desk_id'], ['screen_desk.id'], name=op.f('fk_screen_pairing_desk_id_screen_desk'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_pairing')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_screen_pairing_token_hash'))
    )
    with op.batch_alter_table('screen_pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screen_pairing_desk_id'), ['desk_id'], unique=False)


def downgrade():
    with op.batch_alter_table('screen_pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_pairing_desk_id'))

    op.drop_table('screen_pairing')
    with op.batch_alter_table('screen_desk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_desk_user_id'))

    op.drop_table('screen_desk')
