# Sourced by the other scripts: quiet, offline-friendly settings for the stack.
export DVC_NO_ANALYTICS=1
export MLFLOW_DISABLE_TELEMETRY=true
export GX_ANALYTICS_ENABLED=false
export PREFECT_HOME="${PREFECT_HOME:-$PWD/.prefect}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_LOGGING_LEVEL="${PREFECT_LOGGING_LEVEL:-WARNING}"
# no UI for the temporary server the flows start on their own; `prefect server start` for people:
# PREFECT_SERVER_UI_ENABLED=true (the README says so)
export PREFECT_SERVER_UI_ENABLED="${PREFECT_SERVER_UI_ENABLED:-false}"
export PATH="$PWD/.venv/bin:$PATH"
# Prefect's temporary local server (flows run without `prefect server start`) can take over 20 s to
# come up on a busy 2-core machine
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-180}"
