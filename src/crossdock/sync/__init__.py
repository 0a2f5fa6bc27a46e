"""Flows: capture → canonical → govern → log → deliver, with idempotent, retried, ordered deliveries."""
