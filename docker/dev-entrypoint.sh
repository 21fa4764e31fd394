#!/bin/sh
# Development entrypoint (compose/dev.yml): src/ is mounted from the host. Compile once, keep
# compiling on change, and restart the service whenever dist/ changes.
set -e
cd /app
./node_modules/.bin/tsc -p tsconfig.build.json
./node_modules/.bin/tsc -p tsconfig.build.json --watch --preserveWatchOutput >&2 &
exec node --watch-path=dist dist/entrypoint.js "$@"
