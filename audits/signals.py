"""Signals audits sends to the layers above it (which audits may not import).

`site_qualified`: QA signed a qualification outcome and the site's qualification and fixed-interval
requalification date were saved (audits.services._qualify_site), inside the signing transaction.
Arguments: site, audit, outcome ("approved", "approved_with_conditions", "not_approved"), due (date or
None), user. oversight receives it and replaces the fixed interval by the risk-based one.
"""

from django.dispatch import Signal

site_qualified = Signal()
