from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import User
from vendors.models import Contact, Kind, RegulatoryInspection, Site, Vendor

PASSWORD = "Correct-Horse-Battery-9"  # every factory user's


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
        self.save()


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Vendor {n:05d} Pharma")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} Inc.")
    country = "US"
    status = Vendor.Status.PROSPECT

    @factory.post_generation
    def kinds(self, create, extracted, **kwargs):
        self.kinds.set(Kind.objects.filter(code__in=extracted or ["CDMO"]))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    title = "Business development"
    email = factory.Sequence(lambda n: f"contact{n}@vendor.example")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        skip_postgeneration_save = True

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    country = "US"
    quality_regime = Site.QualityRegime.CGMP
    scale_min = Decimal("100")
    scale_max = Decimal("2000")
    scale_unit = Site.ScaleUnit.LITRE


class InspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegulatoryInspection

    site = factory.SubFactory(SiteFactory)
    agency = RegulatoryInspection.Agency.FDA
    end_date = factory.LazyFunction(lambda: date.today() - timedelta(days=200))
    classification = RegulatoryInspection.Classification.NAI


class WarningLetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "vendors.WarningLetter"

    site = factory.SubFactory(SiteFactory)
    issued_on = factory.LazyFunction(lambda: date.today() - timedelta(days=100))
    subject = "CGMP/Finished Pharmaceuticals/Adulterated"
    reference = factory.Sequence(lambda n: f"MARCS-CMS {600000 + n}")


class ImportAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "vendors.ImportAlert"

    site = factory.SubFactory(SiteFactory)
    number = "66-40"
    status = "active"
    listed_on = factory.LazyFunction(lambda: date.today() - timedelta(days=60))


class GmpCertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "vendors.GmpCertificate"

    site = factory.SubFactory(SiteFactory)
    kind = "certificate"
    authority = "EMA"
    number = factory.Sequence(lambda n: f"DE_BY_01_GMP_2025_{n:04d}")
    issued_on = factory.LazyFunction(lambda: date.today() - timedelta(days=300))
    valid_until = factory.LazyFunction(lambda: date.today() + timedelta(days=700))


class SiteQualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "vendors.SiteQualification"

    site = factory.SubFactory(SiteFactory)
    activity = None
    status = "approved"
    decided_on = factory.LazyFunction(lambda: date.today() - timedelta(days=30))
