"""The masked view of secrets.toml that the Credentials page and the JSON API show."""

from credentials.masking import mask_value
from credentials.oauth_state import TokenState, TokenSummary, oauth_source_names
from credentials.paths import format_path
from credentials.store import SecretsStore


def masked_listing(store: SecretsStore) -> tuple[list[dict], list[TokenSummary]]:
    """Return the stored values grouped by source, masked, and the Google connections.

    Each group is ``{"name": "sources.stripe", "values": [{"key", "path",
    "masked"}]}``. Values of the reserved ``[dango]`` table are left out, and
    no value leaves this function unmasked. Raises CredentialsError when the
    file cannot be read or parsed.
    """
    groups = store.groups()
    data = store.load()
    listing = [
        {
            "name": format_path(group),
            "values": [
                {"key": stored.key, "path": stored.dotted_path, "masked": mask_value(stored.value)}
                for stored in values
            ],
        }
        for group, values in groups.items()
    ]
    connections = [TokenState.from_data(data, name).summary() for name in oauth_source_names(data)]
    return listing, connections
