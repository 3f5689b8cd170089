from tortoise import migrations
from tortoise.migrations import operations as ops
from models.schedule_stop_requests import StopRequestStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_hardening')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScheduleStopRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('schedule_id', fields.IntField(db_index=True)),
                ('doctor_id', fields.IntField(db_index=True)),
                ('requested_by', fields.IntField()),
                ('reason', fields.CharField(max_length=255)),
                ('status', fields.CharEnumField(default=StopRequestStatus.PENDING, db_index=True, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected\nOVERTAKEN: overtaken', enum_type=StopRequestStatus, max_length=16)),
                ('pending_schedule_id', fields.IntField(null=True, unique=True)),
                ('decided_by', fields.IntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'schedule_stop_request', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
