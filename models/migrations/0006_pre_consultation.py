from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.pre_consultation import PreConsultationStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_workday')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PreConsultation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.IntField(db_index=True)),
                ('patient_id', fields.IntField(db_index=True)),
                ('status', fields.CharEnumField(default=PreConsultationStatus.ASKING, description='ASKING: ASKING\nDONE: DONE\nEMERGENCY: EMERGENCY\nEXPIRED: EXPIRED', enum_type=PreConsultationStatus, max_length=16)),
                ('turn', fields.IntField(default=0)),
                ('state', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('question', fields.TextField(null=True, unique=False)),
                ('specialties', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('urgency', fields.CharField(default='IV', max_length=4)),
                ('red_flags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('summary', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source', fields.CharField(default='rules', max_length=16)),
                ('knowledge_version', fields.IntField(default=0)),
                ('booking_id', fields.IntField(null=True, db_index=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pre_consultation', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TriageKnowledgeVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.IntField(unique=True)),
                ('document', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('author_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'triage_knowledge_version', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
