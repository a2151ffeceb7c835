"""The content types of the moved models follow them to this app, so the permissions people and
groups hold on them (add/change/delete/view_incomingwebhook, ...) and the admin's history of
them keep pointing at the right models.

The content type rows are relabelled in place: their ids, and so every permission and every
admin log entry referring to them, stay. Were the rows left under `subscriptions`, Django would
create new `incoming` ones with new permissions that nobody holds, and `remove_stale_contenttypes`
would later delete the old ones along with everyone's grants.
"""

from django.conf import settings
from django.db import migrations

MOVED_MODELS = ("incomingwebhook", "incomingrequest", "incomingidempotencykey")


def move_content_types(apps, from_label: str, to_label: str) -> None:
    """Relabels each moved model's content type; when both labels already have one (a database
    that ran `migrate` back and forth), the holders of the old permissions get the new ones of
    the same codename, admin log entries are repointed, and the old content type is deleted."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    for model in MOVED_MODELS:
        old = ContentType.objects.filter(app_label=from_label, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=to_label, model=model).first()
        if new is None:
            ContentType.objects.filter(pk=old.pk).update(app_label=to_label)
            continue
        for permission in Permission.objects.filter(content_type=old):
            replacement, _ = Permission.objects.get_or_create(
                content_type=new, codename=permission.codename,
                defaults={"name": permission.name},
            )
            for group in permission.group_set.all():
                group.permissions.add(replacement)
            for user in permission.user_set.all():
                user.user_permissions.add(replacement)
        LogEntry.objects.filter(content_type=old).update(content_type=new)
        old.delete()
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor) -> None:
    move_content_types(apps, "subscriptions", "incoming")


def backwards(apps, schema_editor) -> None:
    move_content_types(apps, "incoming", "subscriptions")


class Migration(migrations.Migration):

    dependencies = [
        ('incoming', '0002_rename_tables'),
        ('subscriptions', '0005_incoming_models_moved'),
        ('admin', '0003_logentry_add_action_flag_choices'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
