"""The PostgreSQL backend of the project: django-prometheus's (query metrics) plus pre-commit work.

``DATABASES["default"]["ENGINE"] = "orchestrator.lib.postgresql_backend"`` (orchestrator/settings.py). See ``base``.
"""
