"""Settings, vendor wiring and the Temporal worker."""
