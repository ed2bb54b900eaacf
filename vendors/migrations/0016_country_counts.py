"""The register's vendors per headquarters country, kept by the database (the country filter shows each
country with its count: counting 200,000 vendors on every page was a third of the register's time).

Statement-level triggers with transition tables keep `vendors_countrycount` exact whatever writes vendors
(pages, API, import's bulk_create, queryset updates, raw SQL), one aggregated upsert per statement; a
TRUNCATE of the vendors (the test suite's flush) empties it. And the trigram indexes of 0015 get a larger
statistics sample, so that PostgreSQL estimates how many vendors a search matches well enough to look up
a few hundred by key rather than hash-join the whole register.
"""

from django.db import migrations

# A transition table exists only for the events that declare it: one function per event's shape.
TRIGGERS = """
CREATE TABLE vendors_countrycount (country varchar(2) PRIMARY KEY, n integer NOT NULL);
INSERT INTO vendors_countrycount (country, n) SELECT country, count(*) FROM vendors_vendor GROUP BY country;

CREATE FUNCTION vendors_countrycount_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vendors_countrycount AS c (country, n) SELECT country, count(*) FROM new_rows GROUP BY country
    ON CONFLICT (country) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION vendors_countrycount_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vendors_countrycount AS c SET n = c.n - gone.n
    FROM (SELECT country, count(*) AS n FROM old_rows GROUP BY country) AS gone WHERE c.country = gone.country;
    RETURN NULL;
END $$;
CREATE FUNCTION vendors_countrycount_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vendors_countrycount AS c (country, n)
    SELECT country, sum(delta) FROM (
        SELECT country, 1 AS delta FROM new_rows UNION ALL SELECT country, -1 FROM old_rows
    ) AS changes GROUP BY country HAVING sum(delta) <> 0
    ON CONFLICT (country) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION vendors_countrycount_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM vendors_countrycount;
    RETURN NULL;
END $$;
CREATE TRIGGER vendors_countrycount_insert AFTER INSERT ON vendors_vendor
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vendors_countrycount_insert();
CREATE TRIGGER vendors_countrycount_delete AFTER DELETE ON vendors_vendor
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vendors_countrycount_delete();
CREATE TRIGGER vendors_countrycount_update AFTER UPDATE ON vendors_vendor
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION vendors_countrycount_update();
CREATE TRIGGER vendors_countrycount_truncate AFTER TRUNCATE ON vendors_vendor
    FOR EACH STATEMENT EXECUTE FUNCTION vendors_countrycount_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS vendors_countrycount_insert ON vendors_vendor;
DROP TRIGGER IF EXISTS vendors_countrycount_delete ON vendors_vendor;
DROP TRIGGER IF EXISTS vendors_countrycount_update ON vendors_vendor;
DROP TRIGGER IF EXISTS vendors_countrycount_truncate ON vendors_vendor;
DROP FUNCTION IF EXISTS vendors_countrycount_insert(), vendors_countrycount_delete(),
    vendors_countrycount_update(), vendors_countrycount_truncate();
DROP TABLE IF EXISTS vendors_countrycount;
"""

STATISTICS = """
ALTER INDEX vendor_name_trgm ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX vendor_legal_name_trgm ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX vendor_description_trgm ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX site_name_trgm ALTER COLUMN 1 SET STATISTICS 1000;
ANALYZE vendors_vendor;
ANALYZE vendors_site;
"""


class Migration(migrations.Migration):
    dependencies = [("vendors", "0015_search_trigram")]

    operations = [
        migrations.RunSQL(TRIGGERS, REVERSE),
        migrations.RunSQL(STATISTICS, migrations.RunSQL.noop),
    ]
