"""The moved tables take this app's names (incoming_incomingwebhook, ...), and the request
index its name: renames only, the rows stay where they are (foreign keys follow a renamed table
on PostgreSQL and on SQLite 3.26+)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('incoming', '0001_initial'),
        ('subscriptions', '0005_incoming_models_moved'),
    ]

    operations = [
        migrations.RenameIndex(
            model_name='incomingrequest',
            new_name='incoming_in_incomin_c24d2f_idx',
            old_name='subscriptio_incomin_0be4fe_idx',
        ),
        migrations.AlterModelTable(
            name='incomingidempotencykey',
            table=None,
        ),
        migrations.AlterModelTable(
            name='incomingrequest',
            table=None,
        ),
        migrations.AlterModelTable(
            name='incomingwebhook',
            table=None,
        ),
    ]
