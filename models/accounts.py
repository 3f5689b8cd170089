from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"


class Relation(StrEnum):
    SELF = "self"
    PARENT = "parent"
    CHILD = "child"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    OTHER = "other"


class IdKind(StrEnum):
    RESIDENT_ID = "resident_id"
    CAMPUS_NUMBER = "campus_number"


class Account(Model):
    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    name = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16, default=Role.PATIENT, db_index=True)
    disabled = fields.BooleanField(default=False)
    disabled_reason = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class RefreshToken(Model):
    # One row per issued refresh token; a family is the chain of rotations of one login.

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.CharField(max_length=32, db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_token"


class Patient(Model):
    # A 就诊人: the account holder or a family member, with real-name data.

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="patients", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    relation = fields.CharEnumField(Relation, max_length=16)
    id_kind = fields.CharEnumField(IdKind, max_length=16)
    id_number_cipher = fields.CharField(max_length=200)
    id_number_hash = fields.CharField(max_length=64, db_index=True)
    id_number_masked = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "patient"
        unique_together = (("account", "id_number_hash"),)
