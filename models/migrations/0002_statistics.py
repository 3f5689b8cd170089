from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

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
    ]
