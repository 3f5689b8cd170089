from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.accounts import IdKind, Relation, Role
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phone', fields.CharField(unique=True, max_length=20)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('name', fields.CharField(max_length=64)),
                ('role', fields.CharEnumField(default=Role.PATIENT, db_index=True, description='PATIENT: patient\nDOCTOR: doctor\nADMIN: admin', enum_type=Role, max_length=16)),
                ('disabled', fields.BooleanField(default=False)),
                ('disabled_reason', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor_id', fields.IntField(null=True, db_index=True)),
                ('action', fields.CharField(db_index=True, max_length=64)),
                ('target_type', fields.CharField(max_length=32)),
                ('target_id', fields.CharField(max_length=64)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Department',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('parent', fields.ForeignKeyField('models.Department', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('description', fields.TextField(default='', unique=False)),
                ('building', fields.CharField(default='', max_length=64)),
                ('floor', fields.CharField(default='', max_length=16)),
                ('location', fields.CharField(default='', max_length=64)),
                ('ticket_prefix', fields.CharField(default='A', max_length=4)),
                ('sort_order', fields.IntField(default=0)),
                ('archived', fields.BooleanField(default=False, db_index=True)),
            ],
            options={'table': 'department', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Patient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='patients', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('relation', fields.CharEnumField(description='SELF: self\nPARENT: parent\nCHILD: child\nSPOUSE: spouse\nSIBLING: sibling\nOTHER: other', enum_type=Relation, max_length=16)),
                ('id_kind', fields.CharEnumField(description='RESIDENT_ID: resident_id\nCAMPUS_NUMBER: campus_number', enum_type=IdKind, max_length=16)),
                ('id_number_cipher', fields.CharField(max_length=200)),
                ('id_number_hash', fields.CharField(db_index=True, max_length=64)),
                ('id_number_masked', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'patient', 'app': 'models', 'unique_together': (('account', 'id_number_hash'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('family', fields.CharField(db_index=True, max_length=32)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'refresh_token', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegistrationType',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=32)),
                ('fee', fields.IntField()),
                ('archived', fields.BooleanField(default=False)),
            ],
            options={'table': 'registration_type', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Room',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('department', fields.ForeignKeyField('models.Department', source_field='department_id', db_constraint=True, to_field='id', related_name='rooms', on_delete=OnDelete.RESTRICT)),
                ('building', fields.CharField(default='', max_length=64)),
                ('floor', fields.CharField(default='', max_length=16)),
                ('archived', fields.BooleanField(default=False, db_index=True)),
            ],
            options={'table': 'room', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Doctor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='doctor', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=64)),
                ('title', fields.CharField(max_length=32)),
                ('department', fields.ForeignKeyField('models.Department', source_field='department_id', db_constraint=True, to_field='id', related_name='doctors', on_delete=OnDelete.RESTRICT)),
                ('room', fields.ForeignKeyField('models.Room', source_field='room_id', null=True, db_constraint=True, to_field='id', related_name='doctors', on_delete=OnDelete.SET_NULL)),
                ('introduction', fields.TextField(default='', unique=False)),
                ('archived', fields.BooleanField(default=False, db_index=True)),
            ],
            options={'table': 'doctor', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
