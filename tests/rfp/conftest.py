from vendorselect.builders import rfp_values

__all__ = ["rfp_values"]  # the tests that build RFPs by hand import it from here
