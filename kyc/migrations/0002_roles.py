"""The three roles as groups, with the model permissions the admin needs for each."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    # Analysts work cases: they read everything in their scope and write through the app.
    "analyst": {
        "view": [
            "customer", "analysisrequest", "document", "providerjob", "report", "officer",
            "officerrole", "manageralert", "ocrresult", "ocrcorrection", "decision",
        ],
    },
    # Reviewers additionally read the audit trail.
    "reviewer": {
        "view": [
            "customer", "analysisrequest", "document", "providerjob", "report", "officer",
            "officerrole", "manageralert", "ocrresult", "ocrcorrection", "decision",
            "auditevent",
        ],
    },
    # Admins administer: every model permission except changing or deleting audit and webhooks.
    "admin": {"all": True},
}
IMMUTABLE = {"auditevent", "webhookevent"}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrations run; make sure they exist now.
    app_config = apps.get_app_config("kyc")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    kyc_perms = Permission.objects.filter(content_type__app_label="kyc")
    for name, spec in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        if spec.get("all"):
            perms = [
                p for p in kyc_perms
                if not (p.content_type.model in IMMUTABLE and not p.codename.startswith("view_"))
            ]
        else:
            perms = [p for p in kyc_perms if p.codename in {f"view_{m}" for m in spec["view"]}]
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kyc", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
