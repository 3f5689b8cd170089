"""GraphQL surface of payments: `payBooking` and the patient's view of their payment orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import payments as payment_models
from resolvers import payments as use_cases
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id
from schema.list_bounds import at_most
from schema.permissions import IsPatient

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
PaymentProvider = payment_models.PaymentProvider
PaymentStatus = payment_models.PaymentStatus
strawberry.enum(PaymentProvider, name="PaymentProvider")
strawberry.enum(PaymentStatus, name="PaymentStatus")


@strawberry.type(
    description="A payment order of a booking's registration fee, or of a prepaid waitlist entry's "
    "(attached to its booking once a seat is given); amounts in fen."
)
class PaymentOrder:
    id: strawberry.ID
    booking_id: strawberry.ID | None
    waitlist_entry_id: strawberry.ID | None
    provider: PaymentProvider
    out_trade_no: str
    amount: int
    status: PaymentStatus
    expires_at: datetime
    paid_at: datetime | None
    refunded_amount: int

    @classmethod
    def from_model(cls, row: payment_models.PaymentOrder) -> PaymentOrder:
        return cls(
            id=strawberry.ID(str(row.id)),
            booking_id=_optional_id(row.booking_id),
            waitlist_entry_id=_optional_id(row.waitlist_entry_id),
            provider=row.provider,
            out_trade_no=row.out_trade_no,
            amount=row.amount,
            status=row.status,
            expires_at=row.expires_at,
            paid_at=row.paid_at,
            refunded_amount=row.refunded_amount,
        )


def _optional_id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(description="Open `payPageUrl` in a browser and press pay or fail.")
class SandboxPayment:
    order: PaymentOrder
    pay_page_url: str


@strawberry.type(description="Pass these fields unchanged to the mini-program's wx.requestPayment.")
class WeChatPayment:
    order: PaymentOrder
    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str


@strawberry.type(description="Pass `orderString` to the Alipay SDK (my.tradePay / payInterface).")
class AlipayPayment:
    order: PaymentOrder
    order_string: str


@maps(payment_models.NothingToPay)
@strawberry.type
class NothingToPayError(Error):
    pass


@maps(payment_models.BookingNotPayable)
@strawberry.type
class BookingNotPayableError(Error):
    pass


@maps(payment_models.WaitlistEntryNotPayable)
@strawberry.type
class WaitlistEntryNotPayableError(Error):
    pass


@maps(payment_models.PaymentProviderUnavailable)
@strawberry.type
class PaymentProviderUnavailableError(Error):
    pass


@maps(payment_models.OpenOrderWithOtherProvider)
@strawberry.type
class OpenOrderWithOtherProviderError(Error):
    provider: str


PayBookingResult = Annotated[
    SandboxPayment
    | WeChatPayment
    | AlipayPayment
    | NotFoundError
    | NothingToPayError
    | BookingNotPayableError
    | PaymentProviderUnavailableError
    | OpenOrderWithOtherProviderError,
    strawberry.union("PayBookingResult"),
]


PayWaitlistEntryResult = Annotated[
    SandboxPayment
    | WeChatPayment
    | AlipayPayment
    | NotFoundError
    | NothingToPayError
    | WaitlistEntryNotPayableError
    | PaymentProviderUnavailableError
    | OpenOrderWithOtherProviderError
    | InvalidInputError,
    strawberry.union("PayWaitlistEntryResult"),
]


def _payment(started: use_cases.PaymentStarted) -> SandboxPayment | WeChatPayment | AlipayPayment:
    order = PaymentOrder.from_model(started.order)
    client = started.client
    if client.request_payment is not None:
        p = client.request_payment
        return WeChatPayment(
            order=order,
            app_id=p["appId"],
            time_stamp=p["timeStamp"],
            nonce_str=p["nonceStr"],
            package=p["package"],
            sign_type=p["signType"],
            pay_sign=p["paySign"],
        )
    if client.order_string is not None:
        return AlipayPayment(order=order, order_string=client.order_string)
    return SandboxPayment(order=order, pay_page_url=client.pay_page_url or "")


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsPatient],
        description=f"Your payment orders of one booking, the newest {use_cases.ORDERS_SHOWN}.",
        metadata=at_most(use_cases.ORDERS_SHOWN),
    )
    async def booking_payments(self, info: Info, booking_id: strawberry.ID) -> list[PaymentOrder]:
        rows = await use_cases.my_orders(info.context, parse_id(booking_id, "bookingId"))
        return [PaymentOrder.from_model(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsPatient],
        description="Start (or resume) paying a booking's fee. WECHAT_PAY pays as the account's "
        "linked WeChat user (`wechatOpenId` overrides it).",
    )
    async def pay_booking(
        self,
        info: Info,
        booking_id: strawberry.ID,
        provider: PaymentProvider | None = None,
        wechat_open_id: str | None = None,
    ) -> PayBookingResult:
        chosen = provider or payment_models.PaymentProvider(info.context.settings.payment_default_provider)
        return _payment(
            await use_cases.pay_booking(
                info.context, parse_id(booking_id, "bookingId"), chosen, wechat_open_id
            )
        )

    @strawberry.mutation(
        permission_classes=[IsPatient],
        description="Prepaid waitlist: pay an AWAITING_PAYMENT entry's fee to get in line. "
        "WECHAT_PAY pays as the account's linked WeChat user (`wechatOpenId` overrides it).",
    )
    async def pay_waitlist_entry(
        self,
        info: Info,
        entry_id: strawberry.ID,
        provider: PaymentProvider | None = None,
        wechat_open_id: str | None = None,
    ) -> PayWaitlistEntryResult:
        chosen = provider or payment_models.PaymentProvider(info.context.settings.payment_default_provider)
        entry = parse_id(entry_id, "entryId")
        return _payment(await use_cases.pay_waitlist_entry(info.context, entry, chosen, wechat_open_id))
