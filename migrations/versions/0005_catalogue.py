"""Catalogue: service-public.fr fiches as needs, and their theme hierarchy.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('catalogue_theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['catalogue_theme.id'], name=op.f('fk_catalogue_theme_parent_id_catalogue_theme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_theme')),
    sa.UniqueConstraint('code', name=op.f('uq_catalogue_theme_code'))
    )
    with op.batch_alter_table('catalogue_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_theme_parent_id'), ['parent_id'], unique=False)

    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=20), server_default='curated', nullable=False))
        batch_op.add_column(sa.Column('catalogue_theme_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('online_services', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('other_kinds', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('where_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source_date', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_need_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_catalogue_theme_id'), ['catalogue_theme_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_need_catalogue_theme_id_catalogue_theme'), 'catalogue_theme', ['catalogue_theme_id'], ['id'])


def downgrade():
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_need_catalogue_theme_id_catalogue_theme'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_need_catalogue_theme_id'))
        batch_op.drop_index(batch_op.f('ix_need_origin'))
        batch_op.drop_column('source_date')
        batch_op.drop_column('where_text')
        batch_op.drop_column('other_kinds')
        batch_op.drop_column('online_services')
        batch_op.drop_column('catalogue_theme_id')
        batch_op.drop_column('origin')

    with op.batch_alter_table('catalogue_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_theme_parent_id'))
    op.drop_table('catalogue_theme')
