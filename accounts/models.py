from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Own user model from day one, so that signatures and profiles can grow without a swap."""

    class Meta:
        ordering = ["username"]

    @property
    def printed_name(self) -> str:
        return self.get_full_name() or self.username
