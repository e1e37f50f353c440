# syntax=docker/dockerfile:1
# One image for every role (see docs/deploying.md):
#   web     (default)  gunicorn orchestrator.wsgi:application --config python:orchestrator.gunicorn_conf
#   worker             celery -A orchestrator worker -Q default,scheduler,executor,webhooks,maintenance
#   beat               celery -A orchestrator beat --schedule /tmp/celerybeat-schedule
#   migrations         python manage.py migrate --noinput
#   anything else      python manage.py <command>
# Set SECRET_KEY: with the development key the web role refuses to listen on a non-loopback address.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the dependencies only, cached until pyproject.toml changes -------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_COMPILE=1 \
    PYTHONDONTWRITEBYTECODE=1
# Behind a TLS-intercepting proxy, hand pip the proxy's CA bundle: mount it for RUN steps and name it here
# (the CI build does: --volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.pem --build-arg PIP_CERT=...).
ARG PIP_CERT
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only the dependency list: source changes do not invalidate this layer. `packages = []` in pyproject.toml,
# so installing "." installs the dependencies and nothing of the project itself (the code is copied below).
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install . \
    && pip uninstall --yes workflow-orchestrator \
    && python -m compileall -q /opt/venv

# --- runtime --------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="bytebot-workflow-orchestrator" \
      org.opencontainers.image.description="Multi-step workflows in persistent workspaces with human approval of high-risk actions" \
      org.opencontainers.image.licenses="Proprietary"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=orchestrator.settings \
    DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    PROMETHEUS_MULTIPROC_DIR=/data/metrics \
    GUNICORN_WORKER_TMP_DIR=/dev/shm \
    WEB_CONCURRENCY=3 \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /data /app \
    && chown app:app /data

# Run-time metadata comes before the code so that, in layer-caching builders, a code change rebuilds only the
# last three steps (COPY, RUN, USER).
EXPOSE 8000
VOLUME ["/data"]

# Docker only (Kubernetes uses the chart's probes). Sends the first ALLOWED_HOSTS entry as Host so a production
# ALLOWED_HOSTS does not turn the check into a 400. Disable it for worker/beat containers (no HTTP server there).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/api/v1/health/live', headers={'Host': h}), timeout=4)"]

# Workers: WEB_CONCURRENCY (default 3; about 2 x CPU + 1 of the container's CPU limit). Threads and timeouts
# via GUNICORN_CMD_ARGS or explicit flags; orchestrator.gunicorn_conf adds multiprocess metrics cleanup.
CMD ["gunicorn", "orchestrator.wsgi:application", \
     "--config", "python:orchestrator.gunicorn_conf", \
     "--bind", "0.0.0.0:8000", \
     "--max-requests", "1000", "--max-requests-jitter", "100"]

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root . /app

# Static files are collected once, at build time, into a folder the image owns (read-only at run time is fine:
# whitenoise only reads it). The throwaway DATA_DIR keeps the build from writing into /data.
RUN DATA_DIR=/tmp/build-data PROMETHEUS_MULTIPROC_DIR=/tmp/build-data/metrics \
        python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app \
    && rm -rf /tmp/build-data

USER 10001:10001
