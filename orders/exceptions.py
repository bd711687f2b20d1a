"""Orders' domain errors: checkout refusals, voucher refusals, payment failures, claim links refused."""
from rest_framework import status

from core.exceptions import DomainError


class CheckoutRefused(DomainError):
    code = "checkout_refused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class CheckoutInProgress(DomainError):
    code = "checkout_in_progress"
    http_status = status.HTTP_409_CONFLICT


class VoucherRefused(DomainError):
    code = "voucher_refused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class PaymentDeclined(DomainError):
    code = "payment_declined"
    http_status = status.HTTP_402_PAYMENT_REQUIRED


class PaymentProviderError(DomainError):
    code = "payment_provider_error"
    http_status = status.HTTP_502_BAD_GATEWAY


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    http_status = status.HTTP_409_CONFLICT


class PaymentNotCapturable(DomainError):
    code = "payment_not_capturable"
    http_status = status.HTTP_409_CONFLICT


class RefundRefused(DomainError):
    code = "refund_refused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class ClaimRefused(DomainError):
    """A link to claim guest orders that cannot be followed; nothing was joined."""

    code = "claim_refused"
    http_status = status.HTTP_400_BAD_REQUEST


class ClaimLinkBroken(ClaimRefused):
    code = "claim_link_invalid"


class ClaimLinkExpired(ClaimRefused):
    code = "claim_link_expired"


class ClaimLinkNotYours(ClaimRefused):
    code = "claim_link_not_yours"


class CheckoutNotFinished(DomainError):
    """A checkout waiting for the shopper's bank that can no longer become an order (it ran out of time, its
    basket changed, or it was let go); nothing was charged and its stock hold is released."""

    code = "checkout_not_finished"
    http_status = status.HTTP_409_CONFLICT
