from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Department(Model):
    # Two levels: a clinical department (内科) and its sub-departments (消化内科).

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    code = fields.CharField(max_length=16, unique=True)
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    description = fields.TextField(default="")
    building = fields.CharField(max_length=64, default="")
    floor = fields.CharField(max_length=16, default="")
    location = fields.CharField(max_length=64, default="")
    ticket_prefix = fields.CharField(max_length=4, default="A")
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "department"


class Room(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="rooms", on_delete=fields.RESTRICT
    )
    building = fields.CharField(max_length=64, default="")
    floor = fields.CharField(max_length=16, default="")
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "room"


class RegistrationType(Model):
    # 号别: 普通号, 专家号, 特需 …, the fee is integer fen.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    fee = fields.IntField()
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "registration_type"


class Doctor(Model):
    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[object] = fields.OneToOneField(
        "models.Account", related_name="doctor", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    title = fields.CharField(max_length=32)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="doctors", on_delete=fields.RESTRICT
    )
    room: fields.ForeignKeyNullableRelation[Room] = fields.ForeignKeyField(
        "models.Room", related_name="doctors", null=True, on_delete=fields.SET_NULL
    )
    introduction = fields.TextField(default="")
    archived = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "doctor"
