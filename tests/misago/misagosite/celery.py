"""Celery for the Misago site: tasks run in the request (no broker, no worker)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "misagosite.settings")

app = Celery("misagosite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
