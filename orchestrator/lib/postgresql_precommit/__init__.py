"""The PostgreSQL backend the settings use: ``orchestrator.lib.postgresql`` (django-prometheus's, with a health
check without a round trip) plus pre-commit work (``orchestrator.lib.precommit``: the audit chain, issue 22).

``DATABASES["default"]["ENGINE"] = "orchestrator.lib.postgresql_precommit"`` (orchestrator/settings.py). See ``base``.
"""
