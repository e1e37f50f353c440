"""The PostgreSQL database backend: django-prometheus's (statement metrics) with a health check that costs no round
trip when the connection is plainly alive (``base.DatabaseWrapper.is_usable``)."""
