#!/usr/bin/env bash
# Generate the SPA's API client types from the gateway's OpenAPI document (never hand-written).
#   scripts/gen-api.sh          write src/api/openapi.json and src/api/schema.d.ts
#   scripts/gen-api.sh --check  regenerate into a temp dir; fail when the committed files are stale
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
out="$web/src/api"
check=""
if [ "${1:-}" = "--check" ]; then check=1; out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi

# No servers: the document comes from the route table alone.
(cd "$root" && uv run --quiet --package at-gateway python -c '
import json, sys, tempfile, pathlib
from gateway.app import create_http_app
from gateway.settings import GatewaySettings
app = create_http_app(GatewaySettings(web_dist=pathlib.Path(tempfile.gettempdir()) / "no-web-dist"))
sys.stdout.write(json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n")
') > "$out/openapi.json"
(cd "$web" && npx --no-install openapi-typescript "$out/openapi.json" -o "$out/schema.d.ts" >/dev/null)

if [ -n "$check" ]; then
  for f in openapi.json schema.d.ts; do
    if ! diff -q "$web/src/api/$f" "$out/$f" >/dev/null 2>&1; then
      echo "web/src/api/$f is stale: run \`npm run gen:api\` in web/ and commit the result" >&2
      exit 1
    fi
  done
  echo "API client is up to date"
fi
