"""The incoming webhook models move here from `subscriptions`, with their tables and rows.

Only the migration state moves: these models are created in this app's state on the tables
`subscriptions` made (subscriptions/migrations/0002), and subscriptions/migrations/0005 removes
them from that app's state. Nothing is written to the database here; 0002 then renames the tables
to this app's names, and 0003 carries the content types (and so the permissions people hold) over.
"""

import django.db.models.deletion
import incoming.models
import kernel.ids
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('datasets', '0001_initial'),
        ('subscriptions', '0004_webhook_headers_and_rate_limit'),
        ('workflows', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IncomingWebhook',
                    fields=[
                        ('id', kernel.ids.MuidField(serialize=False)),
                        ('name', models.CharField(max_length=255)),
                        ('automation_app', models.CharField(blank=True, help_text='What sends to it (e.g. Zapier), for people.', max_length=100)),
                        ('config', models.JSONField(blank=True, default=dict, help_text='Workflow: {properties: {Name, DueDate, Shared, Assignees, Runner}, formFields: {fieldId: JSONPath}}. Data set: {columns: {fieldId: JSONPath}, keyColumn}.')),
                        ('status', models.CharField(choices=[('Active', 'Active'), ('Disabled', 'Disabled')], default='Active', max_length=10)),
                        ('token', models.CharField(default=incoming.models.new_incoming_token, editable=False, max_length=64, unique=True)),
                        ('signing_secret', models.CharField(blank=True, help_text='When set, requests must carry a valid Standard Webhooks signature.', max_length=100)),
                        ('created_date', models.DateTimeField(auto_now_add=True)),
                        ('updated_date', models.DateTimeField(auto_now=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('data_set', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='incoming_webhooks', to='datasets.dataset')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='incoming_webhooks', to='accounts.organization')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('workflow', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='incoming_webhooks', to='workflows.workflow')),
                    ],
                    options={
                        'ordering': ['created_date'],
                        'db_table': 'subscriptions_incomingwebhook',
                    },
                ),
                migrations.CreateModel(
                    name='IncomingRequest',
                    fields=[
                        ('id', kernel.ids.MuidField(serialize=False)),
                        ('received_date', models.DateTimeField(db_index=True)),
                        ('outcome', models.CharField(choices=[('created', 'Created'), ('updated', 'Updated'), ('dropped', 'Dropped'), ('rejected', 'Rejected'), ('duplicate', 'Duplicate')], max_length=10)),
                        ('status_code', models.PositiveSmallIntegerField()),
                        ('created_object_id', models.CharField(blank=True, help_text='The run or record created or updated.', max_length=22)),
                        ('error', models.TextField(blank=True)),
                        ('body', models.TextField(blank=True, help_text='The request body, capped.')),
                        ('body_truncated', models.BooleanField(default=False)),
                        ('content_type', models.CharField(blank=True, max_length=255)),
                        ('idempotency_key', models.CharField(blank=True, max_length=255)),
                        ('incoming_webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='requests', to='incoming.incomingwebhook')),
                    ],
                    options={
                        'ordering': ['-received_date'],
                        'db_table': 'subscriptions_incomingrequest',
                    },
                ),
                migrations.CreateModel(
                    name='IncomingIdempotencyKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255)),
                        ('created_date', models.DateTimeField(db_index=True)),
                        ('status_code', models.PositiveSmallIntegerField(default=202)),
                        ('response', models.JSONField(default=dict)),
                        ('request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='incoming.incomingrequest')),
                        ('incoming_webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='idempotency_keys', to='incoming.incomingwebhook')),
                    ],
                    options={
                        'db_table': 'subscriptions_incomingidempotencykey',
                    },
                ),
                migrations.AddConstraint(
                    model_name='incomingwebhook',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('data_set__isnull', True), ('workflow__isnull', False)), models.Q(('data_set__isnull', False), ('workflow__isnull', True)), _connector='OR'), name='incoming_webhook_one_target'),
                ),
                migrations.AddIndex(
                    model_name='incomingrequest',
                    index=models.Index(fields=['incoming_webhook', 'received_date'], name='subscriptio_incomin_0be4fe_idx'),
                ),
                migrations.AddConstraint(
                    model_name='incomingidempotencykey',
                    constraint=models.UniqueConstraint(fields=('incoming_webhook', 'key'), name='unique_incoming_idempotency_key'),
                ),
            ],
            database_operations=[],
        ),
    ]
