from tortoise import migrations
from tortoise.migrations import operations as ops
from models.accounts import Role
from models.booking.status import BookingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_partners')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClinicClosure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('date', fields.DateField(db_index=True)),
                ('department_id', fields.IntField(null=True)),
                ('reason', fields.CharField(max_length=255)),
                ('working_weekday', fields.IntField(null=True)),
                ('created_by', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'clinic_closure', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeskPayment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('booking', fields.ForeignKeyField('models.Booking', source_field='booking_id', db_constraint=True, to_field='id', related_name='desk_payments', on_delete=OnDelete.RESTRICT)),
                ('method', fields.CharField(max_length=32)),
                ('amount', fields.IntField()),
                ('receipt_no', fields.CharField(unique=True, max_length=32)),
                ('registrar_id', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'desk_payment', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffDepartment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.IntField(db_index=True)),
                ('department_id', fields.IntField()),
            ],
            options={'table': 'staff_department', 'app': 'models', 'unique_together': (('account_id', 'department_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Account',
            name='role',
            field=fields.CharEnumField(default=Role.PATIENT, db_index=True, description='PATIENT: patient\nDOCTOR: doctor\nADMIN: admin\nREGISTRAR: registrar', enum_type=Role, max_length=16),
        ),
        ops.AlterField(
            model_name='Booking',
            name='status',
            field=fields.CharEnumField(db_index=True, description='PENDING_PAYMENT: pending_payment\nCONFIRMED: confirmed\nCHECKED_IN: checked_in\nIN_CONSULTATION: in_consultation\nCOMPLETED: completed\nCANCELLED: cancelled\nEXPIRED: expired\nNO_SHOW: no_show\nRESCHEDULED: rescheduled\nLEFT_UNSEEN: left_unseen', enum_type=BookingStatus, max_length=20),
        ),
        ops.AlterField(
            model_name='BookingEvent',
            name='from_status',
            field=fields.CharEnumField(null=True, description='PENDING_PAYMENT: pending_payment\nCONFIRMED: confirmed\nCHECKED_IN: checked_in\nIN_CONSULTATION: in_consultation\nCOMPLETED: completed\nCANCELLED: cancelled\nEXPIRED: expired\nNO_SHOW: no_show\nRESCHEDULED: rescheduled\nLEFT_UNSEEN: left_unseen', enum_type=BookingStatus, max_length=20),
        ),
        ops.AlterField(
            model_name='BookingEvent',
            name='to_status',
            field=fields.CharEnumField(description='PENDING_PAYMENT: pending_payment\nCONFIRMED: confirmed\nCHECKED_IN: checked_in\nIN_CONSULTATION: in_consultation\nCOMPLETED: completed\nCANCELLED: cancelled\nEXPIRED: expired\nNO_SHOW: no_show\nRESCHEDULED: rescheduled\nLEFT_UNSEEN: left_unseen', enum_type=BookingStatus, max_length=20),
        ),
        ops.AddField(
            model_name='RegistrationType',
            name='desk_share_percent',
            field=fields.IntField(default=20),
        ),
        ops.AddField(
            model_name='Slot',
            name='desk_remaining',
            field=fields.IntField(default=0),
        ),
    ]
