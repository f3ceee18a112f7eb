"""secrets.toml files shaped like the ones dlt users write, for round-trip tests.

Every secret in them starts with "canary", so a test can grep any output for
that prefix.
"""

DLT_INIT = """\
# put your secret values and credentials here. do not share this file and do not push it to github

[sources.google_sheets.credentials]
project_id = "dango-demo-123456" # please set me up!
client_id = "1234567890-abc.apps.googleusercontent.com"
client_secret = "canary-client-secret-0001"
refresh_token = "canary-refresh-token-0002"

[sources.stripe_analytics]
stripe_secret_key = "canary_sk_live_0003" # please set me up!

[destination.postgres.credentials]
database = "dango"
password = "canary-db-password-0004"
username = "loader"
host = "127.0.0.1"
port = 5432
connect_timeout = 15
"""

DOTTED = """\
# One dotted key per line, no tables.
sources.hubspot.api_key = "canary-hubspot-0005"
sources.hubspot.include_history = false

sources.notion.api_key = 'canary-notion-literal-0006'   # a literal string
destination.duckdb.credentials = "duckdb:///dango.duckdb"
"""

INLINE = """\
[sources]
stripe = { stripe_secret_key = "canary-stripe-0007", endpoints = ["charges", "customers"] }
github = { access_token = "canary-github-0008", repos = [ "a/b", "c/d" ], nested = { depth = 2 } }
"""

OUT_OF_ORDER = """\
[sources.sql_database.credentials]
drivername = "postgresql"
password = "canary-pässwörd-✓-0009"

[destination.bigquery]
location = "EU"

[sources.sql_database]
schema = "public"
table_names = [
    "orders",  # the big one
    "customers",
]

[sources.sql_database.credentials.query]
sslmode = "require"

[sources."my.source"]
"key with spaces" = \"\"\"
canary multi
line 0010\"\"\"
"""

CRLF = DLT_INIT.replace("\n", "\r\n")

ALL = {"dlt_init": DLT_INIT, "dotted": DOTTED, "inline": INLINE, "out_of_order": OUT_OF_ORDER, "crlf": CRLF}
