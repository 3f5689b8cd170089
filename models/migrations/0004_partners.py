from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.partners import ManifestStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_statistics')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PartnerKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.CharField(db_index=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('key_hint', fields.CharField(max_length=12)),
                ('operations', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('department_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('bucket_capacity', fields.IntField(null=True)),
                ('restore_rate', fields.IntField(null=True)),
                ('daily_quota', fields.IntField(null=True)),
                ('max_concurrent', fields.IntField(null=True)),
                ('created_by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'partner_key', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerManifest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.CharField(max_length=64)),
                ('version', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(default=ManifestStatus.PENDING, description='PENDING: pending\nACTIVE: active\nRETIRED: retired', enum_type=ManifestStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'partner_manifest', 'app': 'models', 'unique_together': (('application', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerDocument',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('manifest', fields.ForeignKeyField('models.PartnerManifest', source_field='manifest_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('document_id', fields.CharField(db_index=True, max_length=71)),
                ('operation_name', fields.CharField(default='', max_length=128)),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'partner_document', 'app': 'models', 'unique_together': (('manifest', 'document_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
