import os

from django.core.wsgi import get_wsgi_application

from api.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webhooks_project.settings")
application = ChunkedBodyMiddleware(get_wsgi_application())
