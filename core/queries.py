"""Small ORM building blocks shared by the apps' selectors."""

from django.db.models import F, Func, Subquery
from django.db.models.functions import Coalesce


def count_of(queryset, field: str = "pk"):
    """A correlated COUNT subquery (one query for the whole list instead of one per row)."""
    return Coalesce(
        Subquery(queryset.order_by().values(field).annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1]),
        0,
    )
