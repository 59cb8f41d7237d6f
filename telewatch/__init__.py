"""telewatch: a pluggable telemetry pipeline for private clouds."""

import warnings

# dnspython (imported by eventlet, which oslo.messaging imports) touches cryptography's DSA
# names as it loads, and cryptography 51 warns about each on stderr: noise on every command
# line (telewatch-polling --test's report among it) about code telewatch never calls.
warnings.filterwarnings('ignore', message='DSA is deprecated', module=r'dns\.dnssecalgs\.')
