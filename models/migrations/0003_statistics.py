from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_wechat_and_operations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DailyActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(db_index=True)),
                ('account_id', fields.IntField()),
            ],
            options={'table': 'stat_activity', 'app': 'models', 'unique_together': (('account_id', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DailyFigure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('department_id', fields.IntField()),
                ('doctor_id', fields.IntField()),
                ('metric', fields.CharField(max_length=32)),
                ('shard', fields.SmallIntField(default=0)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'stat_daily', 'app': 'models', 'unique_together': (('day', 'department_id', 'doctor_id', 'metric', 'shard'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatisticsLease',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=32)),
                ('holder', fields.CharField(default='', max_length=64)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('digest', fields.CharField(default='', max_length=64)),
                ('payload', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'stat_lease', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
