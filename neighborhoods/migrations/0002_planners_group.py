from django.db import migrations


def create_planners_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name="planners")


class Migration(migrations.Migration):
    dependencies = [
        ("neighborhoods", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_planners_group, migrations.RunPython.noop)]
