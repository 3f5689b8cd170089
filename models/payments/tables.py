"""The tables of payments: orders, refunds and their audit trail (the raw provider payloads)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.payments.status import PaymentProvider, PaymentStatus, RefundStatus


class PaymentOrder(Model):
    id = fields.IntField(primary_key=True)
    booking_id: int | None
    waitlist_entry_id: int | None
    # An order pays for a booking, or for joining a prepaid waitlist (booking NULL until a seat is
    # given, when the entry's order is attached to the new booking: decision 090).
    booking: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Booking", related_name="payment_orders", on_delete=fields.RESTRICT, null=True
    )
    waitlist_entry: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.WaitlistEntry", related_name="payment_orders", on_delete=fields.RESTRICT, null=True
    )
    account_id = fields.IntField(db_index=True)
    provider = fields.CharEnumField(PaymentProvider, max_length=16)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()  # fen
    status = fields.CharEnumField(PaymentStatus, max_length=16, db_index=True)
    expires_at = fields.DatetimeField(db_index=True)  # payment deadline = the booking's hold
    # Set while the order is open and NULL afterwards: one open order per booking (the booking id)
    # and per waitlist entry ("w" + entry id) across processes, enforced by the unique index
    # (unique indexes ignore NULLs).
    open_key = fields.CharField(max_length=32, null=True, unique=True)
    payer_openid = fields.CharField(max_length=64, default="")
    prepay_id = fields.CharField(max_length=128, default="")  # WeChat's handle for requestPayment
    provider_trade_no = fields.CharField(max_length=64, default="")
    paid_amount = fields.IntField(default=0)
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # Sum of refunds started (reserved before the provider is asked); never above `amount`.
    refund_reserved = fields.IntField(default=0)
    refunded_amount = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment_order"


class Refund(Model):
    id = fields.IntField(primary_key=True)
    order_id: int
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="refunds", on_delete=fields.RESTRICT
    )
    # One number per refund: a retried request with the same number never refunds twice.
    out_refund_no = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()  # fen
    reason = fields.CharField(max_length=255)
    status = fields.CharEnumField(RefundStatus, max_length=16, db_index=True)
    provider_refund_no = fields.CharField(max_length=64, default="")
    succeeded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment_refund"


class PaymentEvent(Model):
    # The audit trail: every order transition and every refund change, with the raw provider payload.
    id = fields.BigIntField(primary_key=True)
    order_id: int
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="events", on_delete=fields.RESTRICT
    )
    refund_id = fields.IntField(null=True)
    kind = fields.CharField(max_length=32)
    from_status = fields.CharField(max_length=16, null=True)
    to_status = fields.CharField(max_length=16, null=True)
    reason = fields.CharField(max_length=255, default="")
    payload: Any = fields.JSONField(null=True)  # the raw provider payload
    at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "payment_event"
