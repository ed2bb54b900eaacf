"""Password hashing: Argon2id sized for this deployment (settings.PASSWORD_HASHERS puts it first)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id (RFC 9106; Django's Argon2 hasher makes the id variant) with OWASP's minimum memory,
    19 MiB, one pass more than its minimum of two, and one lane.

    Measured on the reference machine (2 vCPUs, shared, load average 3): 58-63 ms a check, against
    0.6-1.1 s for Django 5.2's PBKDF2 (1,000,000 iterations; 490 ms when the machine is quiet) in the
    same run, so a burst of sign-ins no longer holds the web workers (docs/performance.md). Django's
    own defaults (100 MiB, 8 lanes) cost 3 to 5 times this here.
    One lane, because a sync web worker hashes on one core. The memory is held only while a password
    is hashed or checked: 19 MiB per worker signing someone in.

    The algorithm stays "argon2", so hashes made with other parameters still verify; Django re-hashes
    them (must_update) at the next successful sign-in, as it does PBKDF2 hashes (the hasher after
    this one in the settings).
    """

    time_cost = 3
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
