"""Activity: anonymous events for the elected members' dashboard, and its share links.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('body_kind_code', sa.String(length=40), nullable=True),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.Column('desk_site_id', sa.Integer(), nullable=True),
    sa.Column('found_via', sa.String(length=10), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('body_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('elapsed_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['body_id'], ['body.id'], name=op.f('fk_activity_event_body_id_body'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['commune_insee'], ['commune.insee'], name=op.f('fk_activity_event_commune_insee_commune')),
    sa.ForeignKeyConstraint(['desk_site_id'], ['site.id'], name=op.f('fk_activity_event_desk_site_id_site'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['need_id'], ['need.id'], name=op.f('fk_activity_event_need_id_need'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], name=op.f('fk_activity_event_theme_id_theme'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_event'))
    )
    with op.batch_alter_table('activity_event', schema=None) as batch_op:
        batch_op.create_index('ix_activity_event_kind_day', ['kind', 'occurred_on', 'channel', 'commune_insee', 'theme_id', 'need_id', 'outcome'], unique=False)
        batch_op.create_index('ix_activity_event_commune_day', ['commune_insee', 'occurred_on'], unique=False)

    op.create_table('dashboard_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('territory_code', sa.String(length=20), nullable=True),
    sa.Column('period_kind', sa.String(length=12), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_dashboard_share_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_share')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_share_token_hash'))
    )
    with op.batch_alter_table('dashboard_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_share_created_by_id'), ['created_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dashboard_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_share_created_by_id'))
    op.drop_table('dashboard_share')
    with op.batch_alter_table('activity_event', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_event_commune_day')
        batch_op.drop_index('ix_activity_event_kind_day')
    op.drop_table('activity_event')
