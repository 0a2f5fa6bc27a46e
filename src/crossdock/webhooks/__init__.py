"""Webhooks: signed per Standard Webhooks, out to partners' subscriptions and in from partners' systems."""

from crossdock.webhooks.dispatcher import DispatchReport, WebhookDispatcher
from crossdock.webhooks.inbound import InboundResult, receive
from crossdock.webhooks.schedule import RetrySchedule
from crossdock.webhooks.signing import WebhookVerificationError, headers_for, new_secret, sign, verify
from crossdock.webhooks.subscriptions import subscribe

__all__ = [
    "DispatchReport",
    "InboundResult",
    "RetrySchedule",
    "WebhookDispatcher",
    "WebhookVerificationError",
    "headers_for",
    "new_secret",
    "receive",
    "sign",
    "subscribe",
    "verify",
]
