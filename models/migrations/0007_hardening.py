from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_pre_consultation")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Patient",
            name="phone_verified_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="VerificationCode",
            name="purpose",
            field=fields.CharField(default="login", max_length=40),
        ),
    ]
