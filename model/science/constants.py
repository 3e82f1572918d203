"""Physical constants the toolbox and the mock share, each defined once."""

C_KMS = 299_792.458  # speed of light in km/s (exact, SI definition)
PARSEC_CM = 3.0857e18  # one parsec in cm (IAU 2015 B2: 3.0857e16 m)
