import os

from django.core.wsgi import get_wsgi_application

from orchestrator import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
telemetry.setup()  # OpenTelemetry when OTEL_* ask for it; before the middleware is built (it adds its own)
application = get_wsgi_application()
