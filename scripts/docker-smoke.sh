#!/usr/bin/env bash
# Performs the Dockerfile's build and run steps on this machine, without a Docker engine: a fresh clone as
# the build context, the build stage (all dependencies, compile), the runtime stage (production
# dependencies only, plus what the Dockerfile copies), then starts the gateway with its embedded daemon and
# waits until the image's own HEALTHCHECK command and GET /healthz both succeed.
#
# Keep the steps the same as the Dockerfile's: test/deploy/dockerfile.test.ts checks that every RUN and COPY
# of the Dockerfile appears here.
#
# Usage: scripts/docker-smoke.sh [--from-worktree] [REPO]
#   REPO             the repository to clone (default: the one holding this script)
#   --from-worktree  use the working tree's files (tracked and untracked, minus .gitignore'd) instead of a
#                    clone of HEAD, to try uncommitted changes
set -euo pipefail

from_worktree=false
if [[ "${1:-}" == "--from-worktree" ]]; then from_worktree=true; shift; fi
repo="${1:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}"
timeout_s="${DOCKER_SMOKE_TIMEOUT:-60}"

work="$(mktemp -d "${TMPDIR:-/tmp}/docker-smoke.XXXXXX")"
gateway_pid=""
cleanup() {
  if [[ -n "$gateway_pid" ]] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '==> %s\n' "$*"; }
# Runs a command with its output in a log file, shown only when it fails.
quiet() {
  local log="$work/step.log"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    printf 'docker-smoke: failed: %s\n' "$*" >&2
    return 1
  fi
}
# npm settings only (none changes what is installed: the lockfile decides): use the local cache first.
export npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

ctx="$work/context"
if $from_worktree; then
  step "build context: working tree of $repo"
  mkdir -p "$ctx"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$ctx"
else
  step "build context: fresh clone of $repo"
  quiet git clone --quiet "$repo" "$ctx"
fi

# ---- Dockerfile stage "build" (WORKDIR /src) -------------------------------------------------------------
build="$work/build"
mkdir -p "$build"
step "build stage: COPY package.json package-lock.json ./"
cp "$ctx/package.json" "$ctx/package-lock.json" "$build/"
step "build stage: RUN npm ci --ignore-scripts"
(cd "$build" && quiet npm ci --ignore-scripts)
step "build stage: COPY tsconfig.json tsconfig.build.json ./ and COPY src ./src"
cp "$ctx/tsconfig.json" "$ctx/tsconfig.build.json" "$build/"
cp -R "$ctx/src" "$build/src"
step "build stage: COPY ui ./ui and COPY scripts/build-ui.ts ./scripts/build-ui.ts"
cp -R "$ctx/ui" "$build/ui"
mkdir -p "$build/scripts" && cp "$ctx/scripts/build-ui.ts" "$build/scripts/build-ui.ts"
step "build stage: RUN npm run build"
(cd "$build" && quiet npm run build)

# ---- Dockerfile stage "runtime" (WORKDIR /app) -----------------------------------------------------------
app="$work/app"
mkdir -p "$app"
step "runtime stage: COPY package.json package-lock.json ./"
cp "$ctx/package.json" "$ctx/package-lock.json" "$app/"
step "runtime stage: RUN npm ci --omit=dev --ignore-scripts"
(cd "$app" && quiet npm ci --omit=dev --ignore-scripts)
# The Dockerfile then removes npm, npx, corepack and yarn from the image; here they are this machine's own.
step "runtime stage: COPY --from=build /src/dist ./dist and COPY openapi ./openapi"
cp -R "$build/dist" "$app/dist"
cp -R "$ctx/openapi" "$app/openapi"

step "runtime stage: no development-only package was installed"
# package-lock.json marks "dev": true on every package that only development dependencies need.
(cd "$app" && node -e '
  const fs = require("node:fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev).map(([path]) => path);
  const present = devOnly.filter((path) => fs.existsSync(path));
  if (devOnly.length === 0 || present.length > 0) {
    console.error(`development-only packages in the runtime stage: ${present.slice(0, 10).join(", ") || "(lockfile lists none)"}`);
    process.exit(1);
  }
')

# ---- run: ENTRYPOINT ["node", "--max-semi-space-size=8", "--max-old-space-size=128", "dist/cli.js"], with the embedded daemon -----------------------------------
port="$(node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# The image sets LIBVIRT_ADMIN_GATEWAY_LISTEN=0.0.0.0:8080 inside the container's own network namespace;
# this machine has no such namespace, so the gateway listens on loopback, where it needs neither TLS nor
# tokens: TCP callers send the local token it writes to its runtime folder (here a private one, not the host's
# /run/libvirt-admin-gateway). The HEALTHCHECK command reads the same variable.
export LIBVIRT_ADMIN_GATEWAY_LISTEN="127.0.0.1:$port"
step "run: node --max-semi-space-size=8 --max-old-space-size=128 dist/cli.js --listen 127.0.0.1:$port --embedded-socket $work/sock --runtime-dir $work/run"
(cd "$app" && exec node --max-semi-space-size=8 --max-old-space-size=128 dist/cli.js --listen "127.0.0.1:$port" --embedded-socket "$work/sock" --runtime-dir "$work/run") \
  >"$work/gateway.log" 2>&1 &
gateway_pid=$!

# The HEALTHCHECK's exec form is JSON; take it from the Dockerfile so the very command the image runs is used.
mapfile -d '' -t healthcheck < <(node -e '
  const text = require("node:fs").readFileSync(process.argv[1], "utf8").replace(/\\\n/g, " ");
  const line = text.split("\n").find((l) => /^HEALTHCHECK\s/.test(l));
  const cmd = JSON.parse(line.slice(line.indexOf("CMD") + 3).trim());
  process.stdout.write(cmd.map((a) => a + "\0").join(""));
' "$ctx/Dockerfile")

step "waiting up to ${timeout_s}s for the HEALTHCHECK command to pass"
deadline=$((SECONDS + timeout_s))
until (cd "$app" && "${healthcheck[@]}"); do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    cat "$work/gateway.log" >&2
    echo "docker-smoke: the gateway exited before it became healthy" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    cat "$work/gateway.log" >&2
    echo "docker-smoke: no healthy answer within ${timeout_s}s" >&2
    exit 1
  fi
  sleep 0.5
done

status="$(node -e 'fetch(process.argv[1]).then((r) => console.log(r.status), (e) => { console.error(e.message); console.log(0); })' \
  "http://127.0.0.1:$port/healthz")"
if [[ "$status" != "200" ]]; then
  cat "$work/gateway.log" >&2
  echo "docker-smoke: GET /healthz answered $status" >&2
  exit 1
fi
step "GET /healthz: 200"

# What a newcomer sees after `npm install && npm start`: the embedded daemon's servers. The local token is
# written once every listener is up, a moment after /healthz first answers.
until [[ -s "$work/run/local-token" ]]; do
  if ((SECONDS >= deadline)); then
    echo "docker-smoke: no local token in $work/run within ${timeout_s}s" >&2
    exit 1
  fi
  sleep 0.1
done
servers="$(node -e 'fetch(process.argv[1], { headers: { authorization: `Bearer ${process.argv[2]}` } }).then((r) => r.json()).then((b) => console.log(b.servers.map((s) => s.name).sort().join(" ")), (e) => { console.error(e.message); console.log(""); })' \
  "http://127.0.0.1:$port/servers" "$(cat "$work/run/local-token")")"
if [[ "$servers" != "admin libvirtd" ]]; then
  cat "$work/gateway.log" >&2
  echo "docker-smoke: GET /servers listed '$servers', expected admin and libvirtd" >&2
  exit 1
fi
step "GET /servers: admin libvirtd"
echo "docker-smoke: ok"
