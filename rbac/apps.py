from django.apps import AppConfig


class RbacConfig(AppConfig):
    name = "rbac"
    verbose_name = "Roles and permissions"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from rbac.sync import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="rbac.sync_roles")
