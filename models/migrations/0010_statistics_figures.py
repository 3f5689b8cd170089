from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_reserved_shares')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DailyPayer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(db_index=True)),
                ('account_id', fields.IntField()),
            ],
            options={'table': 'stat_payer', 'app': 'models', 'unique_together': (('account_id', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
