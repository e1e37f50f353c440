"""Workflow orchestrator: Django project package and the workflow engine app."""

from .celery import app as celery_app

__all__ = ("celery_app",)
