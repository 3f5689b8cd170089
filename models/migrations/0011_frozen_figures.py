from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0010_statistics_figures")]

    initial = False

    operations = [
        ops.CreateModel(
            name="FrozenFigure",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("kind", fields.CharField(max_length=16)),
                ("start", fields.DateField()),
                ("department_id", fields.IntField()),
                ("doctor_id", fields.IntField()),
                ("metric", fields.CharField(max_length=32)),
                ("value", fields.BigIntField(default=0)),
            ],
            options={
                "table": "stat_frozen",
                "app": "models",
                "unique_together": (("kind", "start", "department_id", "doctor_id", "metric"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="FrozenThrough",
            fields=[
                ("id", fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ("last_day", fields.DateField(null=True)),
            ],
            options={"table": "stat_frozen_through", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddIndex(model_name='BookingEvent', index=Index(fields=['booking_id'])),
        # The horizon row exists before any change can hold it (decision 257).
        ops.RunSQL("INSERT INTO stat_frozen_through (id, last_day) VALUES (1, NULL)"),
    ]
