"""Keeping other systems informed: the change feed (``GET /events`` and its
Server-Sent Events stream), signed webhooks, and alerts as events.

Below the worker (which runs the deliveries) and above the projections:
see docs/integration.md for the API and the guarantees.
"""
