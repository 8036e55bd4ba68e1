# syntax=docker/dockerfile:1
#
# libvirt-admin-gateway container image: compiled JavaScript and production dependencies only.
#
# scripts/docker-smoke.sh performs these same build and run steps on a machine without a Docker engine, and
# test/deploy/dockerfile.test.ts checks that both run the same commands: change them together.
#
# Run it next to the daemons, with their run folder mounted read-only (see docs/deployment.md):
#   docker run -d --name libvirt-admin-gateway --user 0:0 --cap-drop ALL \
#     --security-opt no-new-privileges --read-only --tmpfs /tmp \
#     -v /run/libvirt:/run/libvirt:ro -v /etc/libvirt-admin-gateway:/etc/libvirt-admin-gateway:ro \
#     -e LIBVIRT_ADMIN_GATEWAY_CONNECT=libvirtd:///system \
#     -e LIBVIRT_ADMIN_GATEWAY_TLS_CERT=/etc/libvirt-admin-gateway/tls.crt \
#     -e LIBVIRT_ADMIN_GATEWAY_TLS_KEY=/etc/libvirt-admin-gateway/tls.key \
#     -e LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE=/etc/libvirt-admin-gateway/tokens \
#     -p 8443:8080 libvirt-admin-gateway

# The base of both stages: Node.js 24 (Active LTS) on Debian 12, slim. Node.js 22 (Maintenance LTS) is also
# supported (--build-arg NODE_IMAGE=node:22-bookworm-slim). A tag moves with every patch release; for a build
# that can be repeated, pin the image by its digest, looked up when you build (the "Digest:" line, which is
# the index of every platform's image):
#   docker buildx imagetools inspect node:24-bookworm-slim
#   docker build --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<that digest> -t libvirt-admin-gateway .
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: dev dependencies and the TypeScript compiler; nothing of this stage ships but dist/ ----------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would build before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard (/ui): its sources and the script that bundles them into dist/ui.
COPY ui ./ui
COPY scripts/build-ui.ts ./scripts/build-ui.ts
RUN npm run build

# ---- runtime: node, production dependencies, dist/ and the OpenAPI document ----------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="libvirt-admin-gateway" \
      org.opencontainers.image.description="REST/OpenAPI gateway for libvirt's admin API" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, without running any package's install scripts. The package managers are
# then removed: the image runs `node` directly and needs none at run time.
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
COPY --from=build /src/dist ./dist
COPY openapi ./openapi

# Inside the container the gateway listens on every address, which it only does with TLS and bearer tokens
# (or client certificates): mount them and name them with LIBVIRT_ADMIN_GATEWAY_TLS_CERT, _TLS_KEY and
# _TOKENS_FILE. Without them it refuses to start, and says so. Setting LIBVIRT_ADMIN_GATEWAY_INSECURE=true
# serves plain HTTP to anyone who can reach the port: only for a trial, published on the host's loopback.
ENV LIBVIRT_ADMIN_GATEWAY_LISTEN=0.0.0.0:8080
EXPOSE 8080

# uid 0 on purpose: the system daemons' admin sockets are root's (mode 0600/0700), and libvirt drops every
# admin client whose uid differs from the daemon's own, so no group or other user can open them. This root
# needs no capability (run with --cap-drop ALL): connecting to a socket it owns is an owner permission check.
# Serving only the embedded daemon, or a daemon running as another user, works as that user (--user UID:GID).
USER 0:0

# Liveness through node itself (the slim image has no curl): GET /healthz on the address the gateway listens
# on (a wildcard address is reached through loopback), over HTTPS when a certificate is configured. The
# certificate is not checked: this asks whether the local process answers, not who it is.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const l=process.env.LIBVIRT_ADMIN_GATEWAY_LISTEN||'127.0.0.1:8080';const i=l.lastIndexOf(':');let h=l.slice(0,i).replace(/^\\[|\\]$/g,'');if(h===''||h==='0.0.0.0')h='127.0.0.1';if(h==='::')h='::1';const s=!!process.env.LIBVIRT_ADMIN_GATEWAY_TLS_CERT;require(s?'https':'http').get({host:h,port:Number(l.slice(i+1)),path:'/healthz',rejectUnauthorized:false,timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]

# The heap flags of src/cli.ts's first line: they bound the resident size under load (see its comment).
ENTRYPOINT ["node", "--max-semi-space-size=8", "--max-old-space-size=128", "dist/cli.js"]
