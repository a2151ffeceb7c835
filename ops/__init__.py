"""Running the service: /healthz, /metrics, system checks and secrets kept out of the logs."""
