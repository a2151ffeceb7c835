"""The incoming webhook models now belong to the `incoming` app (incoming/migrations/0001): they
leave this app's migration state only; their tables and rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0004_webhook_headers_and_rate_limit'),
        ('incoming', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='IncomingIdempotencyKey'),
                migrations.DeleteModel(name='IncomingRequest'),
                migrations.DeleteModel(name='IncomingWebhook'),
            ],
            database_operations=[],
        ),
    ]
