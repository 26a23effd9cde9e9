"""Server-rendered web pages (Jinja2, hand-written CSS and JS) over the read models.

Their router is ``ledger.api.ui.pages.router``; importing this package alone
loads no page, so the API's modules can use its labels (``i18n``).
"""
