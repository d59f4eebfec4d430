"""Numbers and names that several modules share: hosts, API paths, Customer.io's documented limits."""

from __future__ import annotations

#: Region code -> Track API base URL (docs/mapping.md §1.2, §1.5).
REGION_HOSTS: dict[str, str] = {
    "US": "https://track.customer.io",
    "EU": "https://track-eu.customer.io",
}
#: Segment's setting labels, emoji included (docs/mapping.md §1.1).
REGION_LABELS: dict[str, str] = {"US": "US \U0001f1fa\U0001f1f8", "EU": "EU \U0001f1ea\U0001f1fa"}

ENTITY_PATH = "/api/v2/entity"
BATCH_PATH = "/api/v2/batch"
METRICS_PATH = "/api/v1/metrics"

#: Customer.io Track API v2 limits (docs/mapping.md §1.5): 32 KB per item, 500 KB per batch request.
MAX_ITEM_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
#: We stay under the batch limit by a margin so headers/rounding never push a request over it.
BATCH_BYTES_BUDGET = 480 * 1024
#: Browsers cap the bodies of all in-flight keepalive requests at 64 KiB together.
KEEPALIVE_BYTES_BUDGET = 60 * 1024

DEFAULT_BATCH_SIZE = 50
MAX_BATCH_SIZE = 100
DEFAULT_FLUSH_INTERVAL_MS = 0
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000

PLUGIN_NAME = "Customer.io"
