"""Physical constants the toolbox and the mock share, each defined once."""

C_KMS = 299_792.458  # speed of light in km/s (exact, SI definition)
C_AA = C_KMS * 1e13  # speed of light in Å/s
PARSEC_CM = 3.0856775814913673e18  # one parsec in cm: 648000/π au (IAU 2015 B2), au exact (IAU 2012 B2)
