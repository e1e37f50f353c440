"""Webhook endpoints, messages and delivery attempts arrive with the webhooks issue."""
