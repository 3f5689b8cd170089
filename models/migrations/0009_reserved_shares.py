from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0008_schedule_stop_requests")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Account",
            name="staff_or_student",
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name="RegistrationType",
            name="followup_share_percent",
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name="RegistrationType",
            name="followup_window_days",
            field=fields.IntField(default=30),
        ),
        ops.AddField(
            model_name="RegistrationType",
            name="staff_share_percent",
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name="RegistrationType",
            name="reserved_release_minutes",
            field=fields.IntField(default=720),
        ),
        ops.AddField(
            model_name="Slot",
            name="followup_remaining",
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name="Slot",
            name="staff_remaining",
            field=fields.IntField(default=0),
        ),
    ]
